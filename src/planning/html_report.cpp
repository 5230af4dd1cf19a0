#include "ratelimit/planning/html_report.hpp"

#include <cstdio>

#include "ratelimit/planning/log_record.hpp"
#include "ratelimit/planning/svg_chart.hpp"

namespace ratelimit::planning {

namespace {

std::string fixed(double v, int digits = 2) {
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string svg_body(const std::string& svg) {
  // Inline SVG in HTML5 needs no XML prolog; ours has none.
  return "<div class=\"chart\">" + svg + "</div>\n";
}

std::string row(std::initializer_list<std::string> cells, const char* tag = "td") {
  std::string r = "<tr>";
  for (const auto& c : cells) r += std::string("<") + tag + ">" + xml_escape(c) + "</" + tag + ">";
  return r + "</tr>\n";
}

std::string dist_row(const std::string& name, const Distribution& d) {
  return row({name, std::to_string(d.count), fixed(d.mean), std::to_string(d.median),
              std::to_string(d.p95), std::to_string(d.p99), std::to_string(d.max)});
}

}  // namespace

std::string html_report(const TrafficReport& r, const ReportCharts& charts, const ReportInputs& in,
                        const std::optional<ReplayResult>& replay) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>" +
       xml_escape(in.title) +
       "</title>\n<style>\n"
       "body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}\n"
       "table{border-collapse:collapse;margin:8px 0 20px}\n"
       "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}\n"
       "td:first-child,th:first-child{text-align:left}\n"
       "th{background:#f3f3f3}.chart{margin:12px 0 24px}\n"
       "</style></head><body>\n";
  h += "<h1>" + xml_escape(in.title) + "</h1>\n<p>Files: ";
  for (std::size_t i = 0; i < in.files.size(); ++i) h += (i ? ", " : "") + xml_escape(in.files[i]);
  h += ". Lines: " + std::to_string(in.lines) + ", unparseable: " + std::to_string(in.bad_lines) +
       ".</p>\n";
  h += "<h2>Traffic</h2>\n<table>\n";
  h += row({"requests", std::to_string(r.requests)});
  h += row({"from", format_utc(r.first_time)});
  h += row({"to", format_utc(r.last_time)});
  h += row({"average requests/s", fixed(r.average_rps, 3)});
  h += row({"peak requests/s", std::to_string(r.peak_rps) + " at " + format_utc(r.peak_rps_at)});
  h += row({"busiest hour (UTC)", format_utc(r.busiest_hour_at).substr(0, 13) + ":00Z, " +
                                      std::to_string(r.busiest_hour_requests) + " requests"});
  h += row({"busiest day (UTC)", format_utc(r.busiest_day_at).substr(0, 10) + ", " +
                                     std::to_string(r.busiest_day_requests) + " requests"});
  h += row({"peak hour of day", std::to_string(r.peak_hour) + ":00"});
  h += row({"peak day of week", std::string(weekday_name(r.peak_weekday))});
  h += "</table>\n";
  h += svg_body(charts.rate_svg);
  h += "<h2>Per " + xml_escape(std::string(to_string(r.by))) + "</h2>\n<table>\n";
  h += row({"", "identifiers", "mean", "median", "p95", "p99", "max"}, "th");
  h += dist_row("requests", r.per_identifier);
  h += dist_row("peak per " + std::to_string(r.window / kMicrosPerSecond) + "s window",
                r.peak_per_window);
  h += dist_row("peak per second", r.peak_per_second);
  h += "</table>\n";
  h += "<table>\n" + row({"busiest", "requests", "peak per window", "peak per second"}, "th");
  for (const auto& t : r.top_identifiers) {
    h += row({t.name, std::to_string(t.requests), std::to_string(t.peak_window),
              std::to_string(t.peak_second)});
  }
  h += "</table>\n";
  h += svg_body(charts.distribution_svg);
  h +=
      "<h2>Endpoints</h2>\n<table>\n" + row({"endpoint", "requests", "peak/s", "4xx", "5xx"}, "th");
  for (const auto& e : r.endpoints) {
    h += row({e.endpoint, std::to_string(e.requests), std::to_string(e.peak_second),
              std::to_string(e.client_errors), std::to_string(e.server_errors)});
  }
  h += "</table>\n<h2>Weekly pattern</h2>\n";
  h += svg_body(charts.heatmap_svg);
  h += "<h2>Recommended limits</h2>\n<table>\n" +
       row({"algorithm", "limit", "window", "burst", "never limited", "basis"}, "th");
  for (const auto& rec : r.recommendations) {
    h += row(
        {std::string(to_string(rec.algorithm)), std::to_string(rec.limit),
         std::to_string(rec.window / kMicrosPerSecond) + "s",
         rec.burst ? std::to_string(*rec.burst) : "-",
         std::to_string(rec.identifiers_never_limited) + " of " + std::to_string(rec.identifiers),
         rec.basis});
  }
  h += "</table>\n";
  if (replay) {
    h += "<h2>Replay through the proposed config</h2>\n<table>\n";
    h += row({"requests", std::to_string(replay->requests)});
    h += row({"limited", std::to_string(replay->limited)});
    h += row({"identifiers limited", std::to_string(replay->identifiers_limited)});
    h += row({"limited requests without an identifier",
              std::to_string(replay->limited_without_identifier)});
    h += row({"invalid", std::to_string(replay->invalid)});
    h += "</table>\n<table>\n" + row({"most limited", "limited requests"}, "th");
    for (const auto& [id, n] : replay->top_limited) h += row({id, std::to_string(n)});
    h += "</table>\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace ratelimit::planning
