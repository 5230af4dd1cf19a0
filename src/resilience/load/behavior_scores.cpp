#include "ratelimit/resilience/behavior_scores.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "resilience/load/interval_ring.hpp"
#include "resilience/load/number_text.hpp"

namespace ratelimit {
namespace {

constexpr std::size_t kMaxKeyPrefix = 64;

struct Counts {
  std::uint64_t requests = 0;
  std::uint64_t rejected = 0;
  std::uint64_t successes = 0;
  std::uint64_t abuse = 0;
};

using load_detail::in_unit;
using load_detail::num;

std::string two_places(double v) {
  char buf[32];
  (void)std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

bool weight_ok(double w) noexcept { return w >= 0.0 && std::isfinite(w); }

// Shortest text that reads back as the same double, so an instance reading
// the store sees exactly the score the writer computed.
std::string exact(double v) {
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, ptr) : num(v);
}

std::string encode(double score, std::uint64_t requests) {
  return "score=" + exact(score) + " requests=" + std::to_string(requests);
}

struct Published {
  double score = 0;
  std::uint64_t requests = 0;
};

// Reads encode()'s format; anything else (another writer, a newer version,
// corruption) is treated as no record.
std::optional<Published> decode(std::string_view v) {
  constexpr std::string_view kScore = "score=";
  constexpr std::string_view kRequests = " requests=";
  if (v.substr(0, kScore.size()) != kScore) return std::nullopt;
  v.remove_prefix(kScore.size());
  Published p;
  const char* end = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(v.data(), end, p.score);
  if (ec != std::errc{} || !in_unit(p.score)) return std::nullopt;
  v.remove_prefix(static_cast<std::size_t>(ptr - v.data()));
  if (v.substr(0, kRequests.size()) != kRequests) return std::nullopt;
  v.remove_prefix(kRequests.size());
  if (v.empty() || v.front() < '0' || v.front() > '9') return std::nullopt;
  const auto [ptr2, ec2] = std::from_chars(v.data(), end, p.requests);
  if (ec2 != std::errc{} || ptr2 != end) return std::nullopt;
  return p;
}

}  // namespace

std::string BehaviorScores::validate(const BehaviorScoresConfig& c) {
  const std::string f = "BehaviorScoresConfig.";
  if (c.interval < 1)
    return f + "interval must be at least 1 µs, got " + std::to_string(c.interval);
  if (c.intervals < 1 || c.intervals > 1000) {
    return f + "intervals must be in 1 .. 1000, got " + std::to_string(c.intervals);
  }
  if (c.interval > kMaxInstant / c.intervals) {
    return f + "window (interval x intervals) exceeds 2^53 µs";
  }
  const ScoreWeights& w = c.weights;
  if (!weight_ok(w.rejection))
    return f + "weights.rejection must be finite and >= 0, got " + num(w.rejection);
  if (!weight_ok(w.success))
    return f + "weights.success must be finite and >= 0, got " + num(w.success);
  if (!weight_ok(w.consistency)) {
    return f + "weights.consistency must be finite and >= 0, got " + num(w.consistency);
  }
  if (!weight_ok(w.abuse)) return f + "weights.abuse must be finite and >= 0, got " + num(w.abuse);
  if (w.rejection + w.success + w.consistency + w.abuse <= 0.0) {
    return f + "weights must not all be zero";
  }
  if (!in_unit(c.neutral)) return f + "neutral must be in [0, 1], got " + num(c.neutral);
  if (!weight_ok(c.prior_requests)) {
    return f + "prior_requests must be finite and >= 0, got " + num(c.prior_requests);
  }
  if (c.abuse_limit < 1) return f + "abuse_limit must be at least 1, got 0";
  if (c.max_identifiers < 1) return f + "max_identifiers must be at least 1, got 0";
  for (std::size_t i = 0; i < c.rules.size(); ++i) {
    const TierRule& r = c.rules[i];
    const std::string rf = f + "rules[" + std::to_string(i) + "].";
    if (!in_unit(r.score)) return rf + "score must be in [0, 1], got " + num(r.score);
    if (r.to.empty()) return rf + "to must name a tier, got an empty string";
  }
  if (c.key_prefix.size() > kMaxKeyPrefix) {
    return f + "key_prefix must be at most 64 bytes, got " + std::to_string(c.key_prefix.size());
  }
  return {};
}

struct BehaviorScores::Impl {
  struct Entry {
    Entry(Micros interval, int intervals) : window(interval, intervals) {}
    load_detail::IntervalRing<Counts> window;
    std::int64_t first_interval = 0;  // of the first request since tracked
    std::int64_t last_interval = 0;   // of the latest request
    std::list<std::string>::iterator lru;
    bool dirty = false;  // recorded since its last publication
  };

  Impl(BehaviorScoresConfig c, std::shared_ptr<AttributeStore> s, std::shared_ptr<const Clock> clk)
      : config(std::move(c)),
        store(std::move(s)),
        clock(clk ? std::move(clk) : system_clock_handle()) {
    if (std::string e = validate(config); !e.empty()) throw std::invalid_argument(e);
    window = config.interval * config.intervals;
  }

  [[nodiscard]] std::int64_t interval_of(Micros now) const noexcept {
    return load_detail::interval_index(now, config.interval);
  }

  void check_id(std::string_view id) const {
    if (id.empty()) throw std::invalid_argument("BehaviorScores: identifier must not be empty");
    const std::size_t max = AttributeStore::kMaxKeyLength - config.key_prefix.size();
    if (id.size() > max) {
      throw std::invalid_argument("BehaviorScores: identifier is " + std::to_string(id.size()) +
                                  " bytes, more than the maximum " + std::to_string(max));
    }
  }

  // The components of `e` at `now` (mu held).
  [[nodiscard]] ScoreDetails compute(const Entry& e, Micros now) const {
    ScoreDetails d;
    const std::int64_t current = interval_of(now);
    const std::int64_t first_completed =
        std::max(e.first_interval, current - static_cast<std::int64_t>(config.intervals) + 1);
    std::vector<std::uint64_t> per_interval(
        static_cast<std::size_t>(std::max<std::int64_t>(0, current - first_completed)), 0);
    e.window.for_each(now, [&](std::int64_t index, const Counts& c) {
      d.requests += c.requests;
      d.rejected += c.rejected;
      d.successes += c.successes;
      d.abuse_events += c.abuse;
      if (index >= first_completed && index < current) {
        per_interval[static_cast<std::size_t>(index - first_completed)] = c.requests;
      }
    });
    if (d.requests == 0) return d;
    d.source = ScoreSource::local;
    const auto n = static_cast<double>(d.requests);
    d.rejection_rate = static_cast<double>(d.rejected) / n;
    d.success_rate = static_cast<double>(d.successes) / n;
    d.consistency = 1.0;
    if (per_interval.size() >= 2) {
      double sum = 0;
      for (const std::uint64_t c : per_interval) sum += static_cast<double>(c);
      const double mean = sum / static_cast<double>(per_interval.size());
      if (mean > 0) {
        double squares = 0;
        for (const std::uint64_t c : per_interval) {
          const double dev = static_cast<double>(c) - mean;
          squares += dev * dev;
        }
        const double cv = std::sqrt(squares / static_cast<double>(per_interval.size())) / mean;
        d.consistency = 1.0 - std::min(1.0, cv);
      }
    }
    d.abuse_component = 1.0 - std::min(1.0, static_cast<double>(d.abuse_events) /
                                                static_cast<double>(config.abuse_limit));
    const ScoreWeights& w = config.weights;
    d.raw = (w.rejection * (1.0 - d.rejection_rate) + w.success * d.success_rate +
             w.consistency * d.consistency + w.abuse * d.abuse_component) /
            (w.rejection + w.success + w.consistency + w.abuse);
    d.score = (n * d.raw + config.prior_requests * config.neutral) / (n + config.prior_requests);
    d.score = std::clamp(d.score, 0.0, 1.0);  // rounding must not leave [0, 1]
    return d;
  }

  // Drops the least recently seen entries that have been idle for a whole
  // window (mu held). The LRU list is in recording order, so this stops at
  // the first entry still active.
  void drop_idle(Micros now) {
    const std::int64_t oldest = interval_of(now) - static_cast<std::int64_t>(config.intervals) + 1;
    while (!lru.empty()) {
      auto it = entries.find(lru.back());
      if (it->second.last_interval >= oldest) break;
      entries.erase(it);
      lru.pop_back();
    }
  }

  void evict_one(Micros now) {
    auto it = entries.find(lru.back());
    if (it->second.dirty) {
      // Its latest score would otherwise never reach the store.
      const ScoreDetails d = compute(it->second, now);
      if (d.requests > 0) stash(config.key_prefix + it->first, encode(d.score, d.requests), now);
    }
    entries.erase(it);
    lru.pop_back();
  }

  // Queues a record for the next flush, keeping the queue bounded.
  void stash(std::string key, std::string value, Micros now) {
    if (pending.size() >= config.max_identifiers) pending.erase(pending.begin());
    pending.push_back(AttributeStore::Record{std::move(key), std::move(value), now + window});
  }

  const BehaviorScoresConfig config;
  const std::shared_ptr<AttributeStore> store;
  const std::shared_ptr<const Clock> clock;
  Micros window = 0;

  mutable std::mutex mu;

  // Held across a whole flush, so snapshots reach the store in the order they

  // were taken: a slower, older flush cannot overwrite a newer one.

  std::mutex flush_mu;
  std::unordered_map<std::string, Entry> entries;  // Guarded by mu.
  std::list<std::string> lru;                      // Guarded by mu; front = latest.
  std::vector<std::string> dirty;                  // Guarded by mu; may hold stale ids.
  std::vector<AttributeStore::Record> pending;     // Guarded by mu.
  std::uint64_t since_publish = 0;                 // Guarded by mu.
  std::uint64_t failures = 0;                      // Guarded by mu.
};

BehaviorScores::BehaviorScores(BehaviorScoresConfig config, std::shared_ptr<AttributeStore> store,
                               std::shared_ptr<const Clock> clock)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(store), std::move(clock))) {}

BehaviorScores::~BehaviorScores() = default;

void BehaviorScores::record(std::string_view id, Outcome outcome) {
  impl_->check_id(id);
  Impl& m = *impl_;
  const Micros now = m.clock->now();
  const std::int64_t current = m.interval_of(now);
  bool publish = false;
  {
    const std::lock_guard lock(m.mu);
    m.drop_idle(now);
    auto it = m.entries.find(std::string(id));
    if (it == m.entries.end()) {
      if (m.entries.size() >= m.config.max_identifiers) m.evict_one(now);
      it = m.entries.try_emplace(std::string(id), m.config.interval, m.config.intervals).first;
      m.lru.push_front(it->first);
      it->second.lru = m.lru.begin();
      it->second.first_interval = current;
    } else {
      m.lru.splice(m.lru.begin(), m.lru, it->second.lru);
    }
    Impl::Entry& e = it->second;
    e.last_interval = current;
    Counts& c = e.window.at(now);
    ++c.requests;
    if (outcome.result == RequestResult::rejected) ++c.rejected;
    if (outcome.result == RequestResult::success) ++c.successes;
    if (outcome.abuse) ++c.abuse;
    if (!e.dirty) {
      e.dirty = true;
      m.dirty.push_back(it->first);
    }
    if (m.config.publish_every > 0 && ++m.since_publish >= m.config.publish_every) {
      m.since_publish = 0;
      publish = true;
    }
  }
  if (publish) (void)flush(now);
}

ScoreDetails BehaviorScores::details(std::string_view id) const {
  impl_->check_id(id);
  const Impl& m = *impl_;
  const Micros now = m.clock->now();
  {
    const std::lock_guard lock(m.mu);
    if (auto it = m.entries.find(std::string(id)); it != m.entries.end()) {
      ScoreDetails d = m.compute(it->second, now);
      if (d.requests > 0) return d;
    }
  }
  ScoreDetails d;
  d.score = m.config.neutral;
  if (!m.store) return d;
  try {
    const auto record = m.store->get(m.config.key_prefix + std::string(id), now);
    if (record) {
      if (const auto p = decode(record->value)) {
        d.score = p->score;
        d.requests = p->requests;
        d.source = ScoreSource::store;
      }
    }
  } catch (const std::exception&) {
    // An unreachable store reads as "not known elsewhere": neutral.
  }
  return d;
}

double BehaviorScores::score(std::string_view id) const { return details(id).score; }

TierAdvice BehaviorScores::advice(std::string_view id, std::string_view current_tier) const {
  const ScoreDetails d = details(id);
  const std::string shown = "score " + two_places(d.score);
  const std::string over = " over " + std::to_string(d.requests) + " requests";
  for (const TierRule& r : impl_->config.rules) {
    if (!r.from.empty() && r.from != current_tier) continue;
    const bool at_least = r.when == TierRule::When::at_least;
    if (at_least ? d.score < r.score : d.score > r.score) continue;
    if (d.requests < r.min_requests) continue;
    TierAdvice a;
    a.tier = r.to;
    a.changed = r.to != current_tier;
    a.reason = shown + (at_least ? " >= " : " <= ") + num(r.score) + over + ": " +
               (a.changed ? std::string(current_tier) + " -> " + r.to : "stay in " + r.to);
    return a;
  }
  return TierAdvice{std::string(current_tier),
                    shown + over + ": no rule applies, stay in " + std::string(current_tier),
                    false};
}

std::size_t BehaviorScores::flush(Micros now) {
  Impl& m = *impl_;
  const std::lock_guard flushing(m.flush_mu);
  std::vector<AttributeStore::Record> out;
  {
    const std::lock_guard lock(m.mu);
    m.drop_idle(now);
    if (!m.store) {
      for (const std::string& id : m.dirty) {
        if (auto it = m.entries.find(id); it != m.entries.end()) it->second.dirty = false;
      }
      m.dirty.clear();
      m.pending.clear();
      return 0;
    }
    out = std::move(m.pending);
    m.pending.clear();
    for (const std::string& id : m.dirty) {
      auto it = m.entries.find(id);
      if (it == m.entries.end() || !it->second.dirty) continue;  // dropped, or listed twice
      it->second.dirty = false;
      const ScoreDetails d = m.compute(it->second, now);
      if (d.requests == 0) continue;
      out.push_back(AttributeStore::Record{m.config.key_prefix + id, encode(d.score, d.requests),
                                           now + m.window});
    }
    m.dirty.clear();
  }
  std::size_t written = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    try {
      m.store->put(out[i]);
      ++written;
    } catch (const std::exception&) {
      // Keep the rest for the next flush; a failing store fails them too.
      const std::lock_guard lock(m.mu);
      m.failures += out.size() - i;
      for (std::size_t j = i; j < out.size(); ++j) m.stash(out[j].key, out[j].value, now);
      break;
    }
  }
  return written;
}

std::size_t BehaviorScores::flush() { return flush(impl_->clock->now()); }

std::size_t BehaviorScores::tracked() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->entries.size();
}

std::uint64_t BehaviorScores::publish_failures() const {
  const std::lock_guard lock(impl_->mu);
  return impl_->failures;
}

std::size_t BehaviorScores::max_identifier_length() const noexcept {
  return AttributeStore::kMaxKeyLength - impl_->config.key_prefix.size();
}

const BehaviorScoresConfig& BehaviorScores::config() const noexcept { return impl_->config; }

}  // namespace ratelimit
