// SVG by hand: a few element types, fixed layout, numbers printed with %g.
#include "ratelimit/planning/svg_chart.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

#include "ratelimit/planning/log_record.hpp"
#include "ratelimit/planning/traffic_report.hpp"

namespace ratelimit::planning {

namespace {

constexpr int kWidth = 960, kHeight = 360;
constexpr int kLeft = 70, kRight = 20, kTop = 30, kBottom = 50;
constexpr int kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

std::string header(int w, int h, const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(w) + "\" height=\"" +
         std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + " " + std::to_string(h) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n<title>" + xml_escape(title) +
         "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n<text x=\"" +
         std::to_string(w / 2) + "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">" +
         xml_escape(title) + "</text>\n";
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\">" +
         xml_escape(s) + "</text>\n";
}

std::string line(double x1, double y1, double x2, double y2, const char* stroke,
                 const std::string& extra = {}) {
  return "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
         num(y2) + "\" stroke=\"" + stroke + "\"" + extra + "/>\n";
}

/// A "nice" axis maximum >= v: 1, 2 or 5 times a power of ten.
double nice_ceiling(double v) {
  if (v <= 0) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

std::string short_time(Micros t) {
  const auto s = format_utc(t);  // 2026-12-07T03:14:38Z
  return s.substr(5, 5) + " " + s.substr(11, 5);
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control bytes are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

RateSeries rate_series(const SecondCounts& seconds, std::size_t max_points) {
  RateSeries out;
  if (seconds.first_second() > seconds.last_second()) return out;
  max_points = std::max<std::size_t>(max_points, 1);
  const std::int64_t span = seconds.last_second() - seconds.first_second() + 1;
  const std::int64_t per_point =
      (span + static_cast<std::int64_t>(max_points) - 1) / static_cast<std::int64_t>(max_points);
  out.start = seconds.first_second() * kMicrosPerSecond;
  out.bucket = per_point * kMicrosPerSecond;
  // Only the days with requests are visited: a log with one stray line
  // decades away costs two days, not the seconds in between.
  out.peak_rps.assign(static_cast<std::size_t>((span + per_point - 1) / per_point), 0);
  seconds.for_each([&](std::int64_t second, std::uint32_t count) {
    auto& peak =
        out.peak_rps[static_cast<std::size_t>((second - seconds.first_second()) / per_point)];
    peak = std::max(peak, count);
  });
  return out;
}

std::string rate_chart_svg(const RateSeries& series, std::optional<double> limit_rps,
                           const std::string& limit_label) {
  std::string svg = header(kWidth, kHeight, "Requests per second (busiest second per point)");
  double top = 1;
  for (const auto v : series.peak_rps) top = std::max(top, static_cast<double>(v));
  if (limit_rps) top = std::max(top, *limit_rps * 1.1);
  top = nice_ceiling(top);
  const auto n = series.peak_rps.size();
  const auto x_of = [&](std::size_t i) {
    return kLeft + (n <= 1 ? 0.0 : static_cast<double>(i) * kPlotW / static_cast<double>(n - 1));
  };
  const auto y_of = [&](double v) { return kTop + kPlotH - v / top * kPlotH; };
  // Axes, y grid and labels.
  svg += line(kLeft, kTop, kLeft, kTop + kPlotH, "#333");
  svg += line(kLeft, kTop + kPlotH, kLeft + kPlotW, kTop + kPlotH, "#333");
  for (int i = 0; i <= 5; ++i) {
    const double v = top * i / 5;
    svg += line(kLeft, y_of(v), kLeft + kPlotW, y_of(v), "#e5e5e5");
    svg += text(kLeft - 6, y_of(v) + 4, num(v), "end");
  }
  for (int i = 0; i <= 4 && n > 0; ++i) {
    const auto idx = static_cast<std::size_t>(static_cast<double>(n - 1) * i / 4);
    // The outer labels grow inwards so they stay inside the chart.
    svg += text(x_of(idx), kTop + kPlotH + 18,
                short_time(series.start + static_cast<Micros>(idx) * series.bucket),
                i == 0   ? "start"
                : i == 4 ? "end"
                         : "middle");
  }
  svg += text(kLeft + kPlotW / 2.0, kHeight - 8, "time (UTC)");
  svg += "<polyline class=\"series\" data-points=\"" + std::to_string(n) +
         "\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.2\" points=\"";
  for (std::size_t i = 0; i < n; ++i) {
    if (i) svg += ' ';
    svg += num(x_of(i)) + "," + num(y_of(series.peak_rps[i]));
  }
  svg += "\"/>\n";
  if (limit_rps) {
    const double y = y_of(*limit_rps);
    svg += line(kLeft, y, kLeft + kPlotW, y, "#d62728",
                " stroke-dasharray=\"6,4\" stroke-width=\"1.5\" class=\"limit\" data-value=\"" +
                    num(*limit_rps) + "\"");
    svg += text(kLeft + kPlotW - 4, y - 5, limit_label, "end");
  }
  svg += "</svg>\n";
  return svg;
}

std::string distribution_chart_svg(const std::vector<std::uint64_t>& per_identifier) {
  std::string svg = header(kWidth, kHeight, "Identifiers by requests (log-log)");
  std::vector<std::uint64_t> bins;
  for (const auto v : per_identifier) {
    if (v == 0) continue;
    const auto b = static_cast<std::size_t>(std::bit_width(v) - 1);
    if (bins.size() <= b) bins.resize(b + 1, 0);
    ++bins[b];
  }
  std::uint64_t most = 1;
  for (const auto c : bins) most = std::max(most, c);
  const double decades = std::max(1.0, std::ceil(std::log10(static_cast<double>(most) + 1)));
  const auto y_of = [&](double count) {
    return kTop + kPlotH - std::log10(count + 1) / decades * kPlotH;
  };
  svg += line(kLeft, kTop, kLeft, kTop + kPlotH, "#333");
  svg += line(kLeft, kTop + kPlotH, kLeft + kPlotW, kTop + kPlotH, "#333");
  for (int d = 0; d <= static_cast<int>(decades); ++d) {
    const double count = std::pow(10.0, d);
    svg += line(kLeft, y_of(count - 1), kLeft + kPlotW, y_of(count - 1), "#e5e5e5");
    svg += text(kLeft - 6, y_of(count - 1) + 4, d == 0 ? "0" : num(count), "end");
  }
  const double bar_w =
      bins.empty() ? 0 : static_cast<double>(kPlotW) / static_cast<double>(bins.size());
  for (std::size_t b = 0; b < bins.size(); ++b) {
    const double x = kLeft + static_cast<double>(b) * bar_w;
    const double y = y_of(static_cast<double>(bins[b]));
    svg += "<rect class=\"bar\" data-from=\"" + std::to_string(std::uint64_t{1} << b) +
           "\" data-count=\"" + std::to_string(bins[b]) + "\" x=\"" + num(x + 1) + "\" y=\"" +
           num(y) + "\" width=\"" + num(std::max(1.0, bar_w - 2)) + "\" height=\"" +
           num(kTop + kPlotH - y) + "\" fill=\"#2ca02c\"/>\n";
    svg += text(x + bar_w / 2, kTop + kPlotH + 16, num(static_cast<double>(std::uint64_t{1} << b)));
  }
  svg += text(kLeft + kPlotW / 2.0, kHeight - 8,
              "requests per identifier (bin starts, powers of two)");
  svg += "<text x=\"16\" y=\"" + num(kTop + kPlotH / 2.0) + "\" transform=\"rotate(-90 16 " +
         num(kTop + kPlotH / 2.0) + ")\" text-anchor=\"middle\">identifiers (log)</text>\n";
  svg += "</svg>\n";
  return svg;
}

std::string heatmap_svg(const std::array<std::array<std::uint64_t, 24>, 7>& weekly) {
  constexpr int kCell = 34, kRowH = 30, kLabelW = 90, kTopY = 40;
  const int w = kLabelW + 24 * kCell + 20, h = kTopY + 7 * kRowH + 40;
  std::string svg = header(w, h, "Requests by day of week and hour of day (log's local time)");
  std::uint64_t most = 1;
  for (const auto& row : weekly) {
    for (const auto c : row) most = std::max(most, c);
  }
  for (int hour = 0; hour < 24; ++hour) {
    svg += text(kLabelW + hour * kCell + kCell / 2.0, kTopY - 6, std::to_string(hour));
  }
  for (int day = 0; day < 7; ++day) {
    const int y = kTopY + day * kRowH;
    svg += text(kLabelW - 8, y + kRowH / 2.0 + 4, std::string(weekday_name(day)), "end");
    for (int hour = 0; hour < 24; ++hour) {
      const auto c = weekly[static_cast<std::size_t>(day)][static_cast<std::size_t>(hour)];
      const double f = static_cast<double>(c) / static_cast<double>(most);
      const int shade = 255 - static_cast<int>(std::lround(f * 200));
      char color[16];
      std::snprintf(color, sizeof color, "#%02x%02xff", shade, shade);
      svg += "<rect class=\"cell\" data-day=\"" + std::to_string(day) + "\" data-hour=\"" +
             std::to_string(hour) + "\" data-count=\"" + std::to_string(c) + "\" x=\"" +
             std::to_string(kLabelW + hour * kCell) + "\" y=\"" + std::to_string(y) +
             "\" width=\"" + std::to_string(kCell - 2) + "\" height=\"" +
             std::to_string(kRowH - 2) + "\" fill=\"" + color + "\"><title>" +
             std::string(weekday_name(day)) + " " + std::to_string(hour) + ":00 " +
             std::to_string(c) + " requests</title></rect>\n";
    }
  }
  svg += text(kLabelW + 12 * kCell, h - 12,
              "hour of day; darker = more requests (max " + std::to_string(most) + ")");
  svg += "</svg>\n";
  return svg;
}

}  // namespace ratelimit::planning
