// Distributions and limit recommendations from the analyzer's exact
// per-identifier counters.
#include "ratelimit/planning/traffic_report.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace ratelimit::planning {

namespace {

std::string duration_text(Micros us) {
  if (us % kMicrosPerDay == 0) return std::to_string(us / kMicrosPerDay) + "d";
  if (us % kMicrosPerHour == 0) return std::to_string(us / kMicrosPerHour) + "h";
  if (us % kMicrosPerMinute == 0) return std::to_string(us / kMicrosPerMinute) + "m";
  if (us % kMicrosPerSecond == 0) return std::to_string(us / kMicrosPerSecond) + "s";
  if (us % kMicrosPerMilli == 0) return std::to_string(us / kMicrosPerMilli) + "ms";
  return std::to_string(us) + "us";
}

std::string rate_text(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

/// Requests fixed_window with `limit` would have denied, from the histogram
/// of per-(identifier, window) counts.
std::uint64_t fixed_window_denied(const TrafficAnalyzer& a, std::uint64_t limit) {
  std::uint64_t denied = 0;
  const auto& h = a.window_count_histogram();
  for (std::size_t c = limit + 1; c < h.size(); ++c) denied += h[c] * (c - limit);
  for (const auto c : a.large_window_counts()) {
    if (c > limit) denied += c - limit;
  }
  return denied;
}

std::uint64_t largest_window_count(const TrafficAnalyzer& a) {
  std::uint64_t largest = 0;
  const auto& h = a.window_count_histogram();
  for (std::size_t c = h.size(); c-- > 0;) {
    if (h[c] != 0) {
      largest = c;
      break;
    }
  }
  for (const auto c : a.large_window_counts()) largest = std::max<std::uint64_t>(largest, c);
  return largest;
}

template <typename Metric>
std::vector<std::uint64_t> collect(const TrafficAnalyzer& a, Metric metric) {
  std::vector<std::uint64_t> v;
  v.reserve(a.identifiers().size());
  for (const auto& [id, s] : a.identifiers()) v.push_back(metric(s));
  return v;
}

template <typename Metric>
std::uint64_t count_at_most(const TrafficAnalyzer& a, std::uint64_t limit, Metric metric) {
  std::uint64_t n = 0;
  for (const auto& [id, s] : a.identifiers()) {
    if (metric(s) <= limit) ++n;
  }
  return n;
}

Recommendation make_recommendation(Algorithm algorithm, std::int64_t limit, Micros window) {
  Recommendation r;
  r.algorithm = algorithm;
  r.limit = limit;
  r.window = window;
  return r;
}

/// The analyzer rounds these up, so the ceiling is safe (never below the
/// true value) and exact values stay exact.
std::uint64_t ceil_count(float x) { return static_cast<std::uint64_t>(std::ceil(x)); }

}  // namespace

std::uint64_t nearest_rank(std::vector<std::uint64_t>& values, double q) {
  if (values.empty()) return 0;
  const auto n = values.size();
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n) - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, n);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                   values.end());
  return values[rank - 1];
}

Distribution distribution_of(std::vector<std::uint64_t>& values) {
  Distribution d;
  d.count = values.size();
  if (values.empty()) return d;
  d.mean = static_cast<double>(std::accumulate(values.begin(), values.end(), std::uint64_t{0})) /
           static_cast<double>(values.size());
  d.max = *std::max_element(values.begin(), values.end());
  d.median = nearest_rank(values, 0.5);
  d.p95 = nearest_rank(values, 0.95);
  d.p99 = nearest_rank(values, 0.99);
  return d;
}

std::optional<Target> parse_target(std::string_view text) noexcept {
  const bool percentile = !text.empty() && (text[0] == 'p' || text[0] == 'P');
  if (percentile) text.remove_prefix(1);
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (percentile) v /= 100.0;
  if (!(v > 0 && v <= 1)) return std::nullopt;
  return Target{Target::Kind::identifiers, v};
}

std::string_view weekday_name(int weekday) noexcept {
  static constexpr std::string_view kNames[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                "Friday", "Saturday", "Sunday"};
  return weekday >= 0 && weekday < 7 ? kNames[weekday] : "?";
}

std::vector<Recommendation> recommend(TrafficAnalyzer& a, const Target& target) {
  a.finish();
  std::vector<Recommendation> out;
  const std::uint64_t n = a.identifiers().size();
  if (n == 0) return out;
  const Micros w = a.options().window;
  const auto peak_window = [](const IdentifierStats& s) -> std::uint64_t { return s.peak_window; };

  // The fixed_window limit first: the other algorithms' quantile follows from it.
  double q = target.value;
  std::uint64_t fixed_limit = 0;
  std::string basis;
  if (target.kind == Target::Kind::identifiers) {
    auto peaks = collect(a, peak_window);
    fixed_limit = std::max<std::uint64_t>(1, nearest_rank(peaks, q));
    basis = "p" + rate_text(q * 100) + " of identifiers' peaks";
  } else {
    const std::uint64_t tracked = a.requests() - a.anonymous_requests() - a.untracked_requests();
    const auto allowed_denials =
        static_cast<std::uint64_t>(std::floor(target.value * static_cast<double>(tracked)));
    std::uint64_t lo = 1, hi = std::max<std::uint64_t>(1, largest_window_count(a));
    while (lo < hi) {  // smallest limit whose denials fit the budget
      const std::uint64_t mid = lo + (hi - lo) / 2;
      if (fixed_window_denied(a, mid) <= allowed_denials) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    fixed_limit = lo;
    q = static_cast<double>(count_at_most(a, fixed_limit, peak_window)) / static_cast<double>(n);
    basis = "the fixed_window limit that denies at most " + rate_text(target.value * 100) +
            "% of requests";
  }

  Recommendation fixed =
      make_recommendation(Algorithm::fixed_window, static_cast<std::int64_t>(fixed_limit), w);
  fixed.identifiers = n;
  fixed.identifiers_never_limited = count_at_most(a, fixed_limit, peak_window);
  fixed.requests_limited = fixed_window_denied(a, fixed_limit);
  fixed.basis = "limit = " + basis + " per aligned " + duration_text(w) + " window";

  // sliding_window: its estimate (prev weighted + current) peaks.
  const auto sliding = [](const IdentifierStats& s) { return ceil_count(s.peak_sliding_estimate); };
  auto sv = collect(a, sliding);
  const std::uint64_t sliding_limit = std::max<std::uint64_t>(1, nearest_rank(sv, q));
  Recommendation sw =
      make_recommendation(Algorithm::sliding_window, static_cast<std::int64_t>(sliding_limit), w);
  sw.identifiers = n;
  sw.identifiers_never_limited = count_at_most(a, sliding_limit, sliding);
  sw.basis = "limit = the same quantile of identifiers' peak sliding_window estimates";

  // sliding_log: two adjacent aligned windows bound any sliding window.
  const auto two = [](const IdentifierStats& s) -> std::uint64_t { return s.peak_two_windows; };
  auto tv = collect(a, two);
  const std::uint64_t log_limit = std::min<std::uint64_t>(
      LimitSpec::kMaxSlidingLogLimit, std::max<std::uint64_t>(1, nearest_rank(tv, q)));
  Recommendation sl =
      make_recommendation(Algorithm::sliding_log, static_cast<std::int64_t>(log_limit), w);
  sl.identifiers = n;
  sl.identifiers_never_limited = count_at_most(a, log_limit, two);
  sl.basis = "limit = the same quantile of peaks over two adjacent windows (an upper bound)";

  // Bucket algorithms: sustained rate = the fixed_window limit per window;
  // burst = the quantile of the burst each identifier needed at a ladder
  // rate no higher than that (a lower rate needs a burst at least as large).
  const double rate_per_s = static_cast<double>(fixed_limit) * 1e6 / static_cast<double>(w);
  int k = -1;
  for (int i = 0; i < kBurstLadderSize; ++i) {
    if (burst_ladder_rate(i) <= rate_per_s) k = i;
  }
  std::uint64_t burst = 0;
  std::uint64_t never_limited = 0;
  std::string burst_basis;
  if (k >= 0) {
    const auto need = [k](const IdentifierStats& s) {
      return ceil_count(s.burst_needed[static_cast<std::size_t>(k)]);
    };
    auto bv = collect(a, need);
    burst = nearest_rank(bv, q);
    never_limited = count_at_most(a, burst, need);
    burst_basis = "burst = the same quantile of the burst each identifier needed at " +
                  rate_text(burst_ladder_rate(k)) + "/s";
  } else {
    const auto total = [](const IdentifierStats& s) -> std::uint64_t { return s.requests; };
    auto bv = collect(a, total);
    burst = nearest_rank(bv, q);
    never_limited = count_at_most(a, burst, total);
    burst_basis = "burst = the same quantile of identifiers' total requests (rate below 1/64 s)";
  }
  burst = std::clamp<std::uint64_t>(burst, 1, static_cast<std::uint64_t>(LimitSpec::kMaxLimit));
  for (const auto algorithm : {Algorithm::token_bucket, Algorithm::gcra, Algorithm::leaky_bucket}) {
    Recommendation r = make_recommendation(algorithm, static_cast<std::int64_t>(fixed_limit), w);
    r.burst = static_cast<std::int64_t>(burst);
    r.identifiers = n;
    r.identifiers_never_limited = never_limited;
    r.basis = "rate = the fixed_window limit per " + duration_text(w) + "; " + burst_basis;
    out.push_back(std::move(r));
  }
  out.push_back(std::move(fixed));
  out.push_back(std::move(sw));
  out.push_back(std::move(sl));
  return out;
}

TrafficReport build_report(TrafficAnalyzer& a, const Target& target, std::size_t top) {
  a.finish();
  TrafficReport r;
  r.requests = a.requests();
  r.by = a.options().by;
  r.window = a.options().window;
  r.target = target;
  r.anonymous_requests = a.anonymous_requests();
  r.untracked_requests = a.untracked_requests();
  r.out_of_order = a.out_of_order();
  if (r.requests > 0) {
    r.first_time = a.first_time();
    r.last_time = a.last_time();
    const auto span = a.seconds().last_second() - a.seconds().first_second() + 1;
    r.average_rps = static_cast<double>(r.requests) / static_cast<double>(span);
    const auto peak_second = a.seconds().peak_second();
    r.peak_rps = a.seconds().at(peak_second);
    r.peak_rps_at = peak_second * kMicrosPerSecond;
    // Hours and days in order, from the per-second counts.
    std::int64_t hour = INT64_MIN, day = INT64_MIN;
    std::uint64_t in_hour = 0, in_day = 0;
    const auto close = [&r](std::int64_t start, std::uint64_t n, std::int64_t unit, Micros& at,
                            std::uint64_t& best) {
      if (n > best) {
        best = n;
        at = start * unit * kMicrosPerSecond;
      }
    };
    a.seconds().for_each([&](std::int64_t second, std::uint32_t count) {
      if (second / 3600 != hour) {
        close(hour, in_hour, 3600, r.busiest_hour_at, r.busiest_hour_requests);
        hour = second / 3600;
        in_hour = 0;
      }
      if (second / 86400 != day) {
        close(day, in_day, 86400, r.busiest_day_at, r.busiest_day_requests);
        day = second / 86400;
        in_day = 0;
      }
      in_hour += count;
      in_day += count;
    });
    close(hour, in_hour, 3600, r.busiest_hour_at, r.busiest_hour_requests);
    close(day, in_day, 86400, r.busiest_day_at, r.busiest_day_requests);
  }
  auto totals = collect(a, [](const IdentifierStats& s) -> std::uint64_t { return s.requests; });
  r.per_identifier = distribution_of(totals);
  auto windows =
      collect(a, [](const IdentifierStats& s) -> std::uint64_t { return s.peak_window; });
  r.peak_per_window = distribution_of(windows);
  auto seconds =
      collect(a, [](const IdentifierStats& s) -> std::uint64_t { return s.peak_second; });
  r.peak_per_second = distribution_of(seconds);

  std::vector<const TrafficAnalyzer::IdentifierMap::value_type*> ids;
  ids.reserve(a.identifiers().size());
  for (const auto& entry : a.identifiers()) ids.push_back(&entry);
  const auto by_requests = [](const auto* x, const auto* y) {
    return x->second.requests != y->second.requests ? x->second.requests > y->second.requests
                                                    : x->first < y->first;
  };
  const auto top_ids = std::min(top, ids.size());
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(top_ids), ids.end(),
                    by_requests);
  for (std::size_t i = 0; i < top_ids; ++i) {
    r.top_identifiers.push_back(TopEntry{ids[i]->first, ids[i]->second.requests,
                                         ids[i]->second.peak_window, ids[i]->second.peak_second});
  }

  if (r.untracked_requests > 0) r.untracked_top = a.untracked_heavy_hitters().top(top);

  for (const auto& [name, e] : a.endpoints()) {
    r.endpoints.push_back(
        EndpointEntry{name, e.requests, e.peak_second, e.client_errors, e.server_errors});
  }
  r.endpoint_count = r.endpoints.size();
  std::sort(r.endpoints.begin(), r.endpoints.end(), [](const auto& x, const auto& y) {
    return x.requests != y.requests ? x.requests > y.requests : x.endpoint < y.endpoint;
  });
  if (r.endpoints.size() > top) r.endpoints.resize(top);

  r.weekly = a.weekly();
  for (int d = 0; d < 7; ++d) {
    for (int h = 0; h < 24; ++h) {
      r.by_hour[static_cast<std::size_t>(h)] +=
          r.weekly[static_cast<std::size_t>(d)][static_cast<std::size_t>(h)];
      r.by_weekday[static_cast<std::size_t>(d)] +=
          r.weekly[static_cast<std::size_t>(d)][static_cast<std::size_t>(h)];
    }
  }
  r.peak_hour =
      static_cast<int>(std::max_element(r.by_hour.begin(), r.by_hour.end()) - r.by_hour.begin());
  r.peak_weekday = static_cast<int>(std::max_element(r.by_weekday.begin(), r.by_weekday.end()) -
                                    r.by_weekday.begin());
  r.recommendations = recommend(a, target);
  return r;
}

std::string policy_yaml(const Recommendation& r, IdentifierKind by, const std::string& name) {
  std::string y;
  y += "# Generated by `ratelimit analyze --emit-config`: " + r.basis + ".\n";
  y += "# Identifiers never limited on the analyzed log: " +
       std::to_string(r.identifiers_never_limited) + " of " + std::to_string(r.identifiers) + ".\n";
  y += "version: 1\n";
  y += "limits:\n";
  y += "  - name: " + name + "\n";
  y += "    algorithm: " + std::string(to_string(r.algorithm)) + "\n";
  y += "    limit: " + std::to_string(r.limit) + "\n";
  y += "    window: " + duration_text(r.window) + "\n";
  if (r.burst) y += "    burst: " + std::to_string(*r.burst) + "\n";
  y += "    scope: " + std::string(to_string(by)) + "\n";
  y += "    counts: requests\n";
  return y;
}

}  // namespace ratelimit::planning
