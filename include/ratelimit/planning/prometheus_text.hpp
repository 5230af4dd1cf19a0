#pragma once
/// @file prometheus_text.hpp
/// A reader for the Prometheus text exposition format (what GET /metrics
/// returns), enough to add up a metric's series. Thread-safe (no state).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ratelimit::planning {

/// One sample line: `name{labels} value`.
struct MetricSample {
  std::string name;
  std::string labels;  ///< the text between the braces, unparsed; empty without labels
  double value = 0;
};

/// Every sample in `text`; comments (`# HELP`, `# TYPE`) and blank lines are
/// skipped. Throws InputError naming the line for a malformed sample.
[[nodiscard]] std::vector<MetricSample> parse_prometheus_text(std::string_view text);

/// The sum of the values of every series named `name`; nullopt when the
/// metric has no series at all.
[[nodiscard]] std::optional<double> sum_of(const std::vector<MetricSample>& samples,
                                           std::string_view name);

}  // namespace ratelimit::planning
