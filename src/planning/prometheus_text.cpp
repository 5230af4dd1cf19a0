#include "ratelimit/planning/prometheus_text.hpp"

#include <cmath>
#include <cstdlib>

#include "ratelimit/planning/capacity.hpp"

namespace ratelimit::planning {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Prometheus writes +Inf, -Inf and NaN; strtod reads those too.
std::optional<double> parse_value(std::string_view text) {
  const std::string s(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::vector<MetricSample> parse_prometheus_text(std::string_view text) {
  std::vector<MetricSample> out;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view raw = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_number;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto bad = [&](const std::string& why) {
      return InputError("metrics line " + std::to_string(line_number) + " is not a sample (" + why +
                        "): " + std::string(line.substr(0, 120)));
    };
    MetricSample sample;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ' && line[i] != '\t') ++i;
    sample.name = std::string(line.substr(0, i));
    if (sample.name.empty()) throw bad("no metric name");
    if (i < line.size() && line[i] == '{') {
      // Label values are quoted and may hold '}' or escaped quotes.
      const std::size_t open = i++;
      bool quoted = false;
      for (; i < line.size(); ++i) {
        if (quoted && line[i] == '\\') {
          ++i;
        } else if (line[i] == '"') {
          quoted = !quoted;
        } else if (!quoted && line[i] == '}') {
          break;
        }
      }
      if (i >= line.size()) throw bad("unterminated labels");
      sample.labels = std::string(line.substr(open + 1, i - open - 1));
      ++i;
    }
    std::string_view rest = trim(line.substr(i));
    // An optional timestamp follows the value.
    const std::size_t space = rest.find_first_of(" \t");
    const auto value = parse_value(rest.substr(0, space));
    if (!value) throw bad("no number after the name");
    sample.value = *value;
    out.push_back(std::move(sample));
  }
  return out;
}

std::optional<double> sum_of(const std::vector<MetricSample>& samples, std::string_view name) {
  std::optional<double> total;
  for (const auto& s : samples) {
    if (s.name == name) total = total.value_or(0.0) + s.value;
  }
  return total;
}

}  // namespace ratelimit::planning
