// `ratelimit analyze LOG...` (traffic analysis, recommendations, what-if
// replay, charts, HTML) and `ratelimit gen-log` (the seeded sample
// generator). The logic lives in ratelimit_planning; this is flags and output.

// GCC 12 at -O2 reports a false -Wnull-dereference inside CLI11's inlined split().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "ratelimit/planning/html_report.hpp"
#include "ratelimit/planning/log_generator.hpp"
#include "ratelimit/planning/log_reader.hpp"
#include "ratelimit/planning/replay.hpp"
#include "ratelimit/planning/svg_chart.hpp"
#include "ratelimit/planning/traffic_report.hpp"
#include "ratelimit/policy/config_loader.hpp"

extern char** environ;

namespace ratelimit::cli {
namespace json = boost::json;
using namespace ratelimit::planning;

namespace {

struct AnalyzeFlags {
  std::vector<std::string> files;
  std::string format = "auto";
  std::string by = "ip";
  std::string window = "1m";
  std::string target = "p99";
  std::optional<double> block_fraction;
  std::string config, emit_config, emit_algorithm = "token_bucket";
  std::string charts, html;
  bool json = false;
  bool no_progress = false;
  std::size_t top = 10;
  std::size_t max_identifiers = 2'000'000;
  std::size_t show_errors = 5;
  std::size_t max_line_bytes = 64 * 1024;
  int api_key_field = 0;
  JsonFields fields;
};

struct GenFlags {
  GenerateOptions options;
  std::string format = "combined";
  std::string start = "2026-12-07T00:00:00Z";
  std::string output = "-";
};

struct BadLine {
  std::string file;
  std::uint64_t line = 0;
  std::string message;
  std::string excerpt;
};

std::string fixed(double v, int digits = 2) {
  char b[48];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string pad(std::string s, std::size_t width, bool right = false) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

std::string window_text(Micros w) {
  if (w % kMicrosPerHour == 0) return std::to_string(w / kMicrosPerHour) + "h";
  if (w % kMicrosPerMinute == 0) return std::to_string(w / kMicrosPerMinute) + "m";
  if (w % kMicrosPerSecond == 0) return std::to_string(w / kMicrosPerSecond) + "s";
  return std::to_string(w / 1000) + "ms";
}

/// Runs `argv` without a shell; true when it exits 0.
bool run_program(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string_view rest(path);
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const auto dir = rest.substr(0, colon);
    if (!dir.empty() && ::access((std::string(dir) + "/" + program).c_str(), X_OK) == 0)
      return true;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return false;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw std::runtime_error(path.string() + ": cannot write");
}

json::object distribution_json(const Distribution& d) {
  return {{"count", d.count}, {"mean", d.mean}, {"median", d.median},
          {"p95", d.p95},     {"p99", d.p99},   {"max", d.max}};
}

json::object report_json(const TrafficReport& r, std::uint64_t lines,
                         const std::vector<BadLine>& bad, std::uint64_t bad_count,
                         const std::optional<ReplayResult>& replay) {
  json::array bad_json;
  for (const auto& b : bad) {
    bad_json.push_back(
        {{"file", b.file}, {"line", b.line}, {"error", b.message}, {"text", b.excerpt}});
  }
  json::array top;
  for (const auto& t : r.top_identifiers) {
    top.push_back({{"id", t.name},
                   {"requests", t.requests},
                   {"peak_window", t.peak_window},
                   {"peak_second", t.peak_second}});
  }
  json::array untracked;
  for (const auto& e : r.untracked_top) {
    untracked.push_back({{"id", e.key}, {"count", e.count}, {"error", e.error}});
  }
  json::array endpoints;
  for (const auto& e : r.endpoints) {
    endpoints.push_back({{"endpoint", e.endpoint},
                         {"requests", e.requests},
                         {"peak_rps", e.peak_second},
                         {"client_errors", e.client_errors},
                         {"server_errors", e.server_errors}});
  }
  json::array weekly;
  for (const auto& day : r.weekly) {
    json::array hours;
    for (const auto c : day) hours.push_back(c);
    weekly.push_back(std::move(hours));
  }
  json::array hours, days;
  for (const auto c : r.by_hour) hours.push_back(c);
  for (const auto c : r.by_weekday) days.push_back(c);
  json::array recs;
  for (const auto& rec : r.recommendations) {
    json::object o{{"algorithm", to_string(rec.algorithm)},
                   {"limit", rec.limit},
                   {"window_ms", rec.window / kMicrosPerMilli},
                   {"burst", rec.burst ? json::value(*rec.burst) : json::value(nullptr)},
                   {"identifiers", rec.identifiers},
                   {"identifiers_never_limited", rec.identifiers_never_limited},
                   {"basis", rec.basis}};
    if (rec.requests_limited) o["requests_limited"] = *rec.requests_limited;
    recs.push_back(std::move(o));
  }
  json::object out{
      {"lines", lines},
      {"requests", r.requests},
      {"unparseable", bad_count},
      {"unparseable_examples", std::move(bad_json)},
      {"first", r.requests ? json::value(format_utc(r.first_time)) : json::value(nullptr)},
      {"last", r.requests ? json::value(format_utc(r.last_time)) : json::value(nullptr)},
      {"average_rps", r.average_rps},
      {"peak_rps", r.peak_rps},
      {"peak_rps_at", r.requests ? json::value(format_utc(r.peak_rps_at)) : json::value(nullptr)},
      {"by", to_string(r.by)},
      {"window_ms", r.window / kMicrosPerMilli},
      {"requests_without_identifier", r.anonymous_requests},
      {"requests_untracked", r.untracked_requests},
      {"out_of_order", r.out_of_order},
      {"per_identifier", distribution_json(r.per_identifier)},
      {"peak_per_window", distribution_json(r.peak_per_window)},
      {"peak_per_second", distribution_json(r.peak_per_second)},
      {"top_identifiers", std::move(top)},
      {"untracked_top", std::move(untracked)},
      {"endpoint_count", r.endpoint_count},
      {"endpoints", std::move(endpoints)},
      {"by_hour", std::move(hours)},
      {"by_weekday", std::move(days)},
      {"weekly", std::move(weekly)},
      {"busiest_hour",
       r.requests ? json::value(format_utc(r.busiest_hour_at)) : json::value(nullptr)},
      {"busiest_hour_requests", r.busiest_hour_requests},
      {"busiest_day",
       r.requests ? json::value(format_utc(r.busiest_day_at).substr(0, 10)) : json::value(nullptr)},
      {"busiest_day_requests", r.busiest_day_requests},
      {"peak_hour", r.peak_hour},
      {"peak_weekday", weekday_name(r.peak_weekday)},
      {"target",
       json::object{{"kind", r.target.kind == Target::Kind::identifiers ? "identifiers"
                                                                        : "blocked_requests"},
                    {"value", r.target.value}}},
      {"recommendations", std::move(recs)}};
  if (replay) {
    json::array most;
    for (const auto& [id, n] : replay->top_limited) most.push_back({{"id", id}, {"limited", n}});
    json::array scopes;
    for (const auto& [scope, n] : replay->by_scope)
      scopes.push_back({{"scope", scope}, {"limited", n}});
    out["replay"] = json::object{{"requests", replay->requests},
                                 {"limited", replay->limited},
                                 {"invalid", replay->invalid},
                                 {"first_invalid", replay->first_invalid},
                                 {"identifiers_limited", replay->identifiers_limited},
                                 {"limited_without_identifier", replay->limited_without_identifier},
                                 {"top_limited", std::move(most)},
                                 {"by_scope", std::move(scopes)}};
  }
  return out;
}

void print_distribution(const std::string& name, const Distribution& d) {
  std::cout << "  " << pad(name, 18) << pad(fixed(d.mean), 12, true)
            << pad(std::to_string(d.median), 9, true) << pad(std::to_string(d.p95), 9, true)
            << pad(std::to_string(d.p99), 9, true) << pad(std::to_string(d.max), 10, true) << '\n';
}

std::string bar(std::uint64_t v, std::uint64_t most, int width = 40) {
  const auto n = most == 0 ? 0
                           : static_cast<int>(std::lround(static_cast<double>(v) * width /
                                                          static_cast<double>(most)));
  return std::string(static_cast<std::size_t>(n), '#');
}

void print_report(const TrafficReport& r, const AnalyzeFlags& f, std::uint64_t lines,
                  const std::vector<BadLine>& bad, std::uint64_t bad_count,
                  const std::optional<ReplayResult>& replay, const std::string& format) {
  const std::string by(to_string(r.by));
  std::cout << "Read " << lines << " lines from " << f.files.size() << " file(s) (" << format
            << "): " << r.requests << " requests, " << bad_count << " unparseable\n";
  for (const auto& b : bad) {
    std::cout << "  " << b.file << ":" << b.line << ": " << b.message << ": " << b.excerpt << '\n';
  }
  if (r.requests == 0) return;
  std::cout << "\nTraffic\n";
  std::cout << "  from " << format_utc(r.first_time) << " to " << format_utc(r.last_time) << '\n';
  std::cout << "  average " << fixed(r.average_rps, 3) << " requests/s, peak " << r.peak_rps
            << " requests/s at " << format_utc(r.peak_rps_at) << '\n';
  std::cout << "  peak hour of day " << r.peak_hour << ":00, peak day "
            << weekday_name(r.peak_weekday) << " (log's local time)\n";
  std::cout << "  busiest hour " << format_utc(r.busiest_hour_at).substr(0, 13) << ":00Z ("
            << r.busiest_hour_requests << " requests), busiest day "
            << format_utc(r.busiest_day_at).substr(0, 10) << " (" << r.busiest_day_requests
            << " requests)\n";

  std::cout << "\nPer " << by << ": " << r.per_identifier.count << " identifiers";
  if (r.anonymous_requests) std::cout << ", " << r.anonymous_requests << " requests without one";
  if (r.untracked_requests)
    std::cout << ", " << r.untracked_requests << " requests beyond --max-identifiers";
  std::cout << "\n  " << pad("", 18) << pad("mean", 12, true) << pad("median", 9, true)
            << pad("p95", 9, true) << pad("p99", 9, true) << pad("max", 10, true) << '\n';
  print_distribution("requests", r.per_identifier);
  print_distribution("peak per " + window_text(r.window), r.peak_per_window);
  print_distribution("peak per second", r.peak_per_second);
  std::cout << "\nBusiest " << by << "s\n  " << pad(by, 30) << pad("requests", 10, true)
            << pad("peak/" + window_text(r.window), 10, true) << pad("peak/s", 8, true) << '\n';
  for (const auto& t : r.top_identifiers) {
    std::cout << "  " << pad(t.name, 30) << pad(std::to_string(t.requests), 10, true)
              << pad(std::to_string(t.peak_window), 10, true)
              << pad(std::to_string(t.peak_second), 8, true) << '\n';
  }
  if (!r.untracked_top.empty()) {
    std::cout << "\nBusiest untracked " << by
              << "s (beyond --max-identifiers; Space-Saving estimate, "
              << "true count within [count - error, count])\n";
    for (const auto& e : r.untracked_top) {
      std::cout << "  " << pad(e.key, 30) << pad(std::to_string(e.count), 10, true)
                << "  error <= " << e.error << '\n';
    }
  }
  std::cout << "\nEndpoints (" << r.endpoints.size() << " of " << r.endpoint_count << ")\n  "
            << pad("endpoint", 40) << pad("requests", 10, true) << pad("share", 8, true)
            << pad("peak/s", 8, true) << pad("4xx", 8, true) << pad("5xx", 8, true) << '\n';
  for (const auto& e : r.endpoints) {
    std::cout
        << "  " << pad(e.endpoint, 40) << pad(std::to_string(e.requests), 10, true)
        << pad(fixed(100.0 * static_cast<double>(e.requests) / static_cast<double>(r.requests), 1) +
                   "%",
               8, true)
        << pad(std::to_string(e.peak_second), 8, true)
        << pad(std::to_string(e.client_errors), 8, true)
        << pad(std::to_string(e.server_errors), 8, true) << '\n';
  }
  const auto most_hour = *std::max_element(r.by_hour.begin(), r.by_hour.end());
  std::cout << "\nHour of day\n";
  for (int h = 0; h < 24; ++h) {
    const auto c = r.by_hour[static_cast<std::size_t>(h)];
    std::cout << "  " << (h < 10 ? "0" : "") << h << " " << pad(std::to_string(c), 10, true) << " "
              << bar(c, most_hour) << '\n';
  }
  const auto most_day = *std::max_element(r.by_weekday.begin(), r.by_weekday.end());
  std::cout << "\nDay of week\n";
  for (int d = 0; d < 7; ++d) {
    const auto c = r.by_weekday[static_cast<std::size_t>(d)];
    std::cout << "  " << pad(std::string(weekday_name(d)), 10) << pad(std::to_string(c), 10, true)
              << " " << bar(c, most_day) << '\n';
  }
  std::cout << "\nRecommended per-" << by << " limits (";
  if (r.target.kind == Target::Kind::identifiers) {
    std::cout << "target: " << fixed(r.target.value * 100, 2) << "% of " << by << "s never limited";
  } else {
    std::cout << "target: at most " << fixed(r.target.value * 100, 3) << "% of requests limited";
  }
  std::cout << ")\n  " << pad("algorithm", 16) << pad("limit", 16, true) << pad("burst", 10, true)
            << pad("never limited", 22, true) << '\n';
  for (const auto& rec : r.recommendations) {
    std::cout << "  " << pad(std::string(to_string(rec.algorithm)), 16)
              << pad(std::to_string(rec.limit) + "/" + window_text(rec.window), 16, true)
              << pad(rec.burst ? std::to_string(*rec.burst) : "-", 10, true)
              << pad(std::to_string(rec.identifiers_never_limited) + " of " +
                         std::to_string(rec.identifiers),
                     22, true);
    if (rec.requests_limited) std::cout << "  (" << *rec.requests_limited << " requests limited)";
    std::cout << '\n';
  }
  if (!r.recommendations.empty()) {
    std::cout << "  how: " << r.recommendations.front().basis << '\n';
  }
  if (replay) {
    const double pct = replay->requests ? 100.0 * static_cast<double>(replay->limited) /
                                              static_cast<double>(replay->requests)
                                        : 0;
    std::cout << "\nReplay through " << f.config << "\n  " << replay->requests << " requests, "
              << replay->limited << " limited (" << fixed(pct, 3) << "%), "
              << replay->identifiers_limited << " " << by << "s limited";
    if (replay->limited_without_identifier) {
      std::cout << " (and " << replay->limited_without_identifier
                << " limited requests without one)";
    }
    if (replay->invalid)
      std::cout << ", " << replay->invalid << " invalid (" << replay->first_invalid << ")";
    std::cout << '\n';
    for (const auto& [scope, n] : replay->by_scope)
      std::cout << "  limit '" << scope << "': " << n << " denied\n";
    for (const auto& [id, n] : replay->top_limited)
      std::cout << "  " << pad(id, 30) << pad(std::to_string(n), 10, true) << '\n';
  }
}

int analyze(const AnalyzeFlags& f) {
  const auto window = policy::parse_duration(f.window);
  if (!window || *window <= 0)
    throw std::invalid_argument("--window '" + f.window + "' is not a duration (e.g. 1s, 1m, 1h)");
  const auto by = parse_identifier_kind(f.by);
  if (!by) throw std::invalid_argument("--by '" + f.by + "' must be ip, user or api_key");
  Target target;
  if (f.block_fraction) {
    if (!(*f.block_fraction >= 0 && *f.block_fraction < 1))
      throw std::invalid_argument("--block-fraction must be in [0, 1)");
    target = Target{Target::Kind::blocked_requests, *f.block_fraction};
  } else {
    const auto t = parse_target(f.target);
    if (!t)
      throw std::invalid_argument("--target '" + f.target +
                                  "' must be a percentile p1..p100 (e.g. p99, p99.9)");
    target = *t;
  }
  const Algorithm emit_algorithm = parse_algorithm(f.emit_algorithm);
  std::optional<LogFormat> format;
  if (f.format != "auto") {
    format = parse_log_format(f.format);
    if (!format)
      throw std::invalid_argument("--format '" + f.format + "' must be auto, combined or json");
  }
  std::unique_ptr<Replayer> replayer;
  if (!f.config.empty())
    replayer = std::make_unique<Replayer>(policy::load_config_file(f.config), *by);

  AnalyzeOptions analyze_options;
  analyze_options.by = *by;
  analyze_options.window = *window;
  analyze_options.max_identifiers = f.max_identifiers;
  TrafficAnalyzer analyzer(analyze_options);
  std::unique_ptr<LineParser> parser;
  std::vector<BadLine> bad;
  std::uint64_t bad_count = 0, lines = 0;
  LogRecord record;
  const ReadOptions read{.max_line_bytes = f.max_line_bytes,
                         .progress = !f.no_progress && isatty(STDERR_FILENO) != 0};
  for (const auto& file : f.files) {
    const auto note_bad = [&](std::uint64_t number, std::string_view line, const char* message) {
      if (bad_count++ < f.show_errors) {
        std::string excerpt(line.substr(0, 120));
        for (auto& c : excerpt) {
          // ASCII only: the excerpt is a diagnostic, and --json must stay UTF-8.
          if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            c = '?';
        }
        bad.push_back(BadLine{file, number, message, std::move(excerpt)});
      }
    };
    lines +=
        read_log_lines(file, read, [&](std::string_view line, std::uint64_t number, bool too_long) {
          if (too_long) return note_bad(number, line, "line too long (see --max-line-bytes)");
          if (!parser) {
            if (line.empty()) return note_bad(number, line, "empty line");
            parser = std::make_unique<LineParser>(
                ParserOptions{.format = format.value_or(detect_log_format(line)),
                              .json = f.fields,
                              .api_key_field = f.api_key_field});
          }
          if (const char* error = parser->parse(line, record)) return note_bad(number, line, error);
          analyzer.add(record);
          if (replayer) replayer->add(record);
        });
  }
  const std::string format_name =
      parser ? std::string(to_string(parser->options().format)) : f.format;
  auto report = build_report(analyzer, target, f.top);
  std::optional<ReplayResult> replay;
  if (replayer) replay = replayer->result(f.top);

  std::vector<std::string> notes;
  const Recommendation* chosen = nullptr;
  for (const auto& rec : report.recommendations) {
    if (rec.algorithm == emit_algorithm) chosen = &rec;
  }
  if (!f.emit_config.empty()) {
    if (chosen == nullptr)
      throw std::runtime_error(
          "--emit-config: no requests with an identifier, nothing to recommend");
    const auto yaml = policy_yaml(*chosen, *by);
    (void)policy::load_config(yaml, f.emit_config);  // never write a config that does not load
    write_file(f.emit_config, yaml);
    notes.push_back("wrote " + f.emit_config);
  }
  std::optional<double> limit_rps;
  std::string limit_label;
  if (chosen != nullptr) {
    limit_rps = static_cast<double>(chosen->limit) * 1e6 / static_cast<double>(chosen->window);
    limit_label = "proposed per-" + std::string(to_string(*by)) +
                  " limit: " + std::to_string(chosen->limit) + "/" + window_text(chosen->window) +
                  " (" + to_string(chosen->algorithm).data() + ")";
  }
  ReportCharts charts;
  if (!f.charts.empty() || !f.html.empty()) {
    charts.rate_svg = rate_chart_svg(rate_series(analyzer.seconds()), limit_rps, limit_label);
    std::vector<std::uint64_t> totals;
    totals.reserve(analyzer.identifiers().size());
    for (const auto& [id, s] : analyzer.identifiers()) totals.push_back(s.requests);
    charts.distribution_svg = distribution_chart_svg(totals);
    charts.heatmap_svg = heatmap_svg(report.weekly);
  }
  if (!f.charts.empty()) {
    const std::filesystem::path dir(f.charts);
    std::filesystem::create_directories(dir);
    const std::pair<const char*, const std::string*> files[] = {
        {"requests_per_second", &charts.rate_svg},
        {"identifiers", &charts.distribution_svg},
        {"weekly_heatmap", &charts.heatmap_svg}};
    const bool rsvg = on_path("rsvg-convert");
    for (const auto& [name, svg] : files) {
      const auto svg_path = dir / (std::string(name) + ".svg");
      write_file(svg_path, *svg);
      if (rsvg && !run_program({"rsvg-convert", "-o", (dir / (std::string(name) + ".png")).string(),
                                svg_path.string()})) {
        notes.push_back(std::string("rsvg-convert failed on ") + svg_path.string());
      }
    }
    notes.push_back("wrote charts to " + dir.string() +
                    (rsvg ? " (SVG and PNG)"
                          : " (SVG only: rsvg-convert not found, install librsvg2-bin for PNG)"));
  }
  if (!f.html.empty()) {
    write_file(f.html, html_report(report, charts,
                                   ReportInputs{.title = "ratelimit analyze",
                                                .files = f.files,
                                                .lines = lines,
                                                .bad_lines = bad_count},
                                   replay));
    notes.push_back("wrote " + f.html);
  }

  if (f.json) {
    auto out = report_json(report, lines, bad, bad_count, replay);
    out["format"] = format_name;
    std::cout << json::serialize(out) << '\n';
  } else {
    print_report(report, f, lines, bad, bad_count, replay, format_name);
  }
  for (const auto& n : notes) std::cerr << "ratelimit analyze: " << n << '\n';
  if (report.requests == 0) {
    std::cerr << "ratelimit analyze: no line could be parsed\n";
    return 1;
  }
  return 0;
}

int gen_log(GenFlags g) {
  const auto format = parse_log_format(g.format);
  if (!format) throw std::invalid_argument("--format '" + g.format + "' must be combined or json");
  g.options.format = *format;
  const auto start = policy::parse_timestamp(g.start);
  if (!start)
    throw std::invalid_argument("--start '" + g.start +
                                "' is not an RFC 3339 UTC time (e.g. 2026-12-07T00:00:00Z)");
  g.options.start = *start;
  if (!(g.options.mean_rps > 0)) throw std::invalid_argument("--rps must be positive");
  const bool gz = g.output.size() > 3 && g.output.ends_with(".gz");
  if (gz) {
    gzFile out = gzopen(g.output.c_str(), "wb9");
    if (out == nullptr) throw std::runtime_error(g.output + ": cannot write");
    bool ok = true;
    generate_log(g.options, [&](std::string_view line) {
      ok = ok && gzwrite(out, line.data(), static_cast<unsigned>(line.size())) > 0 &&
           gzputc(out, '\n') >= 0;
    });
    if (gzclose(out) != Z_OK || !ok) throw std::runtime_error(g.output + ": write failed");
    return 0;
  }
  std::ofstream file;
  if (g.output != "-") {
    file.open(g.output, std::ios::binary);
    if (!file) throw std::runtime_error(g.output + ": cannot write");
  }
  std::ostream& out = g.output == "-" ? std::cout : file;
  std::string buffer;
  generate_log(g.options, [&](std::string_view line) {
    buffer.append(line);
    buffer += '\n';
    if (buffer.size() > (1 << 20)) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  });
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  out.flush();
  if (!out) throw std::runtime_error(g.output + ": write failed");
  return 0;
}

}  // namespace

std::function<std::optional<int>()> add_analyze_commands(CLI::App& app) {
  auto f = std::make_shared<AnalyzeFlags>();
  auto* a = app.add_subcommand(
      "analyze",
      "Traffic analysis of access logs: rates, distributions, recommended limits, what-if replay");
  a->add_option("logs", f->files, "Access logs (combined or JSON lines; .gz accepted; - = stdin)")
      ->required();
  a->add_option("--format", f->format, "auto, combined or json")->capture_default_str();
  a->add_option("--by", f->by, "Identifier: ip, user or api_key")->capture_default_str();
  a->add_option("--window", f->window, "Window of the recommended limits (e.g. 1s, 1m, 1h)")
      ->capture_default_str();
  a->add_option("--target", f->target,
                "Share of identifiers never limited, as a percentile (p99, p99.9)")
      ->capture_default_str();
  a->add_option(
      "--block-fraction", f->block_fraction,
      "Instead of --target: at most this fraction of requests limited (fixed_window; e.g. 0.01)");
  a->add_option("--config", f->config,
                "Replay the log through this policy YAML and report what it would limit");
  a->add_option("--emit-config", f->emit_config, "Write the recommended limit as a policy YAML");
  a->add_option("--algorithm", f->emit_algorithm,
                "Algorithm of --emit-config and of the chart's limit line")
      ->capture_default_str();
  a->add_option("--charts", f->charts,
                "Write SVG charts (and PNG with rsvg-convert) to this directory");
  a->add_option("--html", f->html, "Write a self-contained HTML report");
  a->add_flag("--json", f->json, "Print JSON instead of tables");
  a->add_flag("--no-progress", f->no_progress,
              "No progress bar (it is drawn only when stderr is a terminal)");
  a->add_option("--top", f->top, "Rows in the top lists")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  a->add_option("--max-identifiers", f->max_identifiers,
                "Identifiers tracked exactly (memory bound)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32));
  a->add_option("--show-errors", f->show_errors, "Unparseable lines quoted")->capture_default_str();
  a->add_option("--max-line-bytes", f->max_line_bytes, "Longer lines are unparseable")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 26));
  a->add_option(
       "--api-key-field", f->api_key_field,
       "Combined format: the quoted field holding the API key (4 = first after the user agent)")
      ->check(CLI::Range(0, 64));
  a->add_option("--json-time", f->fields.time, "JSON field: time")->capture_default_str();
  a->add_option("--json-ip", f->fields.ip, "JSON field: client address")->capture_default_str();
  a->add_option("--json-user", f->fields.user, "JSON field: user")->capture_default_str();
  a->add_option("--json-api-key", f->fields.api_key, "JSON field: API key")->capture_default_str();
  a->add_option("--json-method", f->fields.method, "JSON field: method")->capture_default_str();
  a->add_option("--json-path", f->fields.path, "JSON field: path")->capture_default_str();
  a->add_option("--json-request", f->fields.request,
                "JSON field: \"METHOD TARGET PROTOCOL\" (when method/path are absent)")
      ->capture_default_str();
  a->add_option("--json-status", f->fields.status, "JSON field: status")->capture_default_str();

  auto g = std::make_shared<GenFlags>();
  auto* gen = app.add_subcommand(
      "gen-log", "Write a seeded synthetic access log (diurnal pattern, heavy hitters, bursts)");
  gen->add_option("--seed", g->options.seed, "Random seed")->capture_default_str();
  gen->add_option("--lines", g->options.lines, "Lines to write")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 40));
  gen->add_option("--format", g->format, "combined or json")->capture_default_str();
  gen->add_option("--rps", g->options.mean_rps, "Mean requests per second")->capture_default_str();
  gen->add_option("--clients", g->options.clients, "Distinct clients")
      ->capture_default_str()
      ->check(CLI::Range(4U, 100'000'000U));
  gen->add_option("--burst-probability", g->options.burst_probability,
                  "Chance a line starts a burst")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  gen->add_option("--start", g->start, "First request's time (RFC 3339 UTC)")
      ->capture_default_str();
  gen->add_option("-o,--output", g->output, "Output file (.gz: gzip), - = stdout")
      ->capture_default_str();

  return [a, gen, f, g]() -> std::optional<int> {
    if (a->parsed()) return analyze(*f);
    if (gen->parsed()) return gen_log(*g);
    return std::nullopt;
  };
}

}  // namespace ratelimit::cli
