// The per-line work of `ratelimit analyze`: a handful of counter updates per
// record, and hash lookups that allocate only for a new identifier/endpoint.
#include "ratelimit/planning/traffic_analyzer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ratelimit::planning {

namespace {

constexpr std::size_t kHistogramExact = 65536;

constexpr std::array<double, kBurstLadderSize> kLadderRates = [] {
  std::array<double, kBurstLadderSize> rates{};
  double r = 1.0 / 64;
  for (auto& x : rates) {
    x = r;
    r *= 2;
  }
  return rates;
}();

/// The smallest float >= x (x >= 0, well inside float range).
float round_up(double x) noexcept {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) < x) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

std::optional<IdentifierKind> parse_identifier_kind(std::string_view name) noexcept {
  if (name == "ip") return IdentifierKind::ip;
  if (name == "user") return IdentifierKind::user;
  if (name == "api_key") return IdentifierKind::api_key;
  return std::nullopt;
}

std::string_view to_string(IdentifierKind kind) noexcept {
  switch (kind) {
    case IdentifierKind::ip:
      return "ip";
    case IdentifierKind::user:
      return "user";
    case IdentifierKind::api_key:
      return "api_key";
  }
  return "ip";
}

double burst_ladder_rate(int k) noexcept { return std::ldexp(1.0, k - 6); }

void SecondCounts::add(Micros time) noexcept {
  const std::int64_t second = floor_div(time, kMicrosPerSecond);
  const std::int64_t day = floor_div(second, 86400);
  if (day != cached_day_ || cached_counts_ == nullptr) {
    auto& slot = days_[day];
    if (!slot) slot = std::make_unique<std::array<std::uint32_t, 86400>>();
    cached_day_ = day;
    cached_counts_ = slot.get();
  }
  ++(*cached_counts_)[static_cast<std::size_t>(second - day * 86400)];
  first_ = std::min(first_, second);
  last_ = std::max(last_, second);
}

std::uint32_t SecondCounts::at(std::int64_t second) const noexcept {
  const std::int64_t day = floor_div(second, 86400);
  const auto it = days_.find(day);
  if (it == days_.end()) return 0;
  return (*it->second)[static_cast<std::size_t>(second - day * 86400)];
}

std::uint64_t SecondCounts::peak() const noexcept {
  const auto s = peak_second();
  return s < 0 ? 0 : at(s);
}

std::int64_t SecondCounts::peak_second() const noexcept {
  std::int64_t best = -1;
  std::uint32_t best_count = 0;
  for (const auto& [day, counts] : days_) {
    for (std::size_t i = 0; i < counts->size(); ++i) {
      if ((*counts)[i] > best_count) {
        best_count = (*counts)[i];
        best = day * 86400 + static_cast<std::int64_t>(i);
      }
    }
  }
  return best;
}

TrafficAnalyzer::TrafficAnalyzer(AnalyzeOptions options)
    : options_(std::move(options)),
      normalizer_(options_.paths),
      untracked_top_(std::max<std::size_t>(1, options_.untracked_counters)),
      identifier_cache_(kIdentifierSlots),
      endpoint_cache_(kEndpointSlots) {
  if (options_.window <= 0) throw std::invalid_argument("window must be positive");
  window_histogram_.assign(kHistogramExact, 0);
}

std::string_view TrafficAnalyzer::identifier_of(const LogRecord& r) const noexcept {
  switch (options_.by) {
    case IdentifierKind::ip:
      return r.ip;
    case IdentifierKind::user:
      return r.user;
    case IdentifierKind::api_key:
      return r.api_key;
  }
  return {};
}

void TrafficAnalyzer::add(const LogRecord& record) {
  finished_ = false;
  ++requests_;
  first_time_ = std::min(first_time_, record.time);
  last_time_ = std::max(last_time_, record.time);
  seconds_.add(record.time);
  const Micros local = record.time + Micros{record.utc_offset_minutes} * kMicrosPerMinute;
  const std::int64_t local_second = floor_div(local, kMicrosPerSecond);
  if (local_second != weekly_second_) {  // most lines share their second
    const std::int64_t day = floor_div(local_second, 86400);
    weekly_hour_ = static_cast<std::size_t>((local_second - day * 86400) / 3600);
    weekly_day_ = static_cast<std::size_t>(((day + 3) % 7 + 7) % 7);  // 1970-01-01: Thursday
    weekly_second_ = local_second;
  }
  ++weekly_[weekly_day_][weekly_hour_];

  const auto id = identifier_of(record);
  if (id.empty()) {
    ++anonymous_;
  } else {
    add_identifier(id, record.time);
  }
  if (!record.path.empty()) add_endpoint(record);
}

void TrafficAnalyzer::close_window(std::uint32_t count) {
  if (count == 0) return;
  if (count < kHistogramExact) {
    ++window_histogram_[count];
  } else {
    large_windows_.push_back(count);
  }
}

void TrafficAnalyzer::add_identifier(std::string_view id, Micros time) {
  const std::size_t hash = TransparentHash{}(id);
  IdentifierSlot& slot = identifier_cache_[hash & (kIdentifierSlots - 1)];
  if (slot.entry == nullptr || slot.hash != hash || slot.entry->first != id) {
    auto it = identifiers_.find(id);
    if (it == identifiers_.end()) {
      if (identifiers_.size() >= options_.max_identifiers) {
        ++untracked_;
        untracked_top_.add(id);
        return;
      }
      it = identifiers_.emplace(std::string(id), IdentifierStats{}).first;
      it->second.last_time = time;
    }
    slot.hash = hash;
    slot.entry = &*it;
  }
  IdentifierStats& s = slot.entry->second;
  ++s.requests;
  // A line earlier than this identifier's last one counts at the last one's
  // time: logs are written in completion order, a few ms apart at most.
  if (time < s.last_time) {
    ++out_of_order_;
    time = s.last_time;
  }
  const double elapsed_s = static_cast<double>(time - s.last_time) / 1e6;
  s.last_time = time;

  const Micros w = options_.window;
  const std::int64_t window = floor_div(time, w);
  if (window != s.window_id) {
    close_window(s.window_count);
    s.previous_window_count = window == s.window_id + 1 ? s.window_count : 0;
    s.window_id = window;
    s.window_count = 0;
  }
  ++s.window_count;
  s.peak_window = std::max(s.peak_window, s.window_count);
  s.peak_two_windows = std::max(s.peak_two_windows, s.window_count + s.previous_window_count);
  // As the algorithm computes it (spec/algorithms.md): prev * (W - elapsed) / W.
  const double estimate = static_cast<double>(s.previous_window_count) *
                              static_cast<double>(w - (time - window * w)) /
                              static_cast<double>(w) +
                          s.window_count;
  s.peak_sliding_estimate = std::max(s.peak_sliding_estimate, round_up(estimate));

  const std::int64_t second = floor_div(time, kMicrosPerSecond);
  if (second != s.second) {
    s.second = second;
    s.second_count = 0;
  }
  ++s.second_count;
  s.peak_second = std::max(s.peak_second, s.second_count);

  for (std::size_t k = 0; k < kBurstLadderSize; ++k) {
    const double level = std::max(0.0, s.level[k] - elapsed_s * kLadderRates[k]) + 1.0;
    s.level[k] = level;
    if (level > static_cast<double>(s.burst_needed[k])) s.burst_needed[k] = round_up(level);
  }
}

void TrafficAnalyzer::add_endpoint(const LogRecord& record) {
  auto path = record.path;
  if (const auto query = path.find_first_of("?#"); query != std::string_view::npos) {
    path = path.substr(0, query);
  }
  scratch_.assign(record.method);
  scratch_ += ' ';
  scratch_ += path;
  const std::size_t hash = TransparentHash{}(scratch_);
  EndpointSlot& slot = endpoint_cache_[hash & (kEndpointSlots - 1)];
  if (slot.stats == nullptr || slot.hash != hash || slot.key != scratch_) {
    std::string key(record.method);
    key += ' ';
    key += normalizer_.normalize(path);
    auto it = endpoints_.find(key);
    if (it == endpoints_.end()) {
      it = endpoints_.size() >= options_.max_endpoints
               ? endpoints_.try_emplace("(other)").first
               : endpoints_.emplace(std::move(key), EndpointStats{}).first;
    }
    slot.hash = hash;
    slot.key.assign(scratch_);  // reuses the slot's capacity
    slot.stats = &it->second;
  }
  EndpointStats& e = *slot.stats;
  ++e.requests;
  if (record.status >= 400 && record.status < 500) ++e.client_errors;
  if (record.status >= 500) ++e.server_errors;
  const std::int64_t second = floor_div(record.time, kMicrosPerSecond);
  if (second != e.second) {
    e.second = second;
    e.second_count = 0;
  }
  ++e.second_count;
  e.peak_second = std::max(e.peak_second, e.second_count);
}

void TrafficAnalyzer::finish() {
  if (finished_) return;
  for (auto& [id, s] : identifiers_) {
    close_window(s.window_count);
    // Closed: a later add() starts a new window for this identifier.
    s.previous_window_count = s.window_count;
    s.window_count = 0;
    s.window_id = INT64_MIN;
  }
  finished_ = true;
}

}  // namespace ratelimit::planning
