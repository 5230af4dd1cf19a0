#pragma once
/// @file svg_chart.hpp
/// Hand-written SVG charts for `ratelimit analyze --charts/--html`. Each
/// function returns a complete, standalone SVG document (no external
/// references). Marked-up elements carry data-* attributes (the values they
/// draw) so tests and scripts can read a chart back.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ratelimit/planning/traffic_analyzer.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::planning {

/// Requests per second over time, downsampled to at most `max_points`
/// buckets of whole seconds; each point is the busiest second in its bucket
/// (so the peak survives downsampling).
struct RateSeries {
  Micros start = 0;
  Micros bucket = kMicrosPerSecond;  ///< width of one point
  std::vector<std::uint32_t> peak_rps;
};
[[nodiscard]] RateSeries rate_series(const SecondCounts& seconds, std::size_t max_points = 1000);

/// Line chart of `series`; `limit_rps`, when set, is drawn as a dashed
/// horizontal line (`<line class="limit" data-value=...>`) labelled `limit_label`.
/// The series is `<polyline class="series" data-points="N">`.
[[nodiscard]] std::string rate_chart_svg(const RateSeries& series, std::optional<double> limit_rps,
                                         const std::string& limit_label);

/// Histogram of requests per identifier in power-of-two bins ([1,2), [2,4)
/// ...), both axes logarithmic. Each bar is `<rect class="bar" data-from
/// data-count>`.
[[nodiscard]] std::string distribution_chart_svg(const std::vector<std::uint64_t>& per_identifier);

/// Day-of-week x hour-of-day heatmap: `<rect class="cell" data-day
/// data-hour data-count>` (day 0 = Monday).
[[nodiscard]] std::string heatmap_svg(const std::array<std::array<std::uint64_t, 24>, 7>& weekly);

/// `text` with &, <, >, " and ' escaped, for XML text and attributes.
[[nodiscard]] std::string xml_escape(std::string_view text);

}  // namespace ratelimit::planning
