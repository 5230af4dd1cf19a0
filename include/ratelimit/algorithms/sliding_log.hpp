#pragma once
/// @file algorithms/sliding_log.hpp
/// Exact sliding log (spec/algorithms.md "sliding_log"). Pure: no clock, no I/O.
///
/// Unlike the other algorithms the state is unbounded in size (one entry per
/// admitted instant, at most `limit` entries), so `step` updates it in place
/// instead of returning a copy; it is still a function of (spec, state, now, cost) only.

#include <vector>

#include "ratelimit/algorithms/common.hpp"

namespace ratelimit::algo::sliding_log {

/// One admitted request: instant and cost. Requests admitted at the same
/// instant share one entry.
struct Entry {
  Micros at = 0;
  std::int64_t cost = 0;
  friend bool operator==(const Entry&, const Entry&) = default;
};

/// The admitted requests still inside the window, oldest first, with their
/// total cost kept alongside.
class State {
 public:
  /// Forgets entries that no longer count at `now` (those with at <= now - W).
  void prune(Micros now, Micros window) noexcept {
    while (head_ < entries_.size() && entries_[head_].at <= now - window) {
      used_ -= entries_[head_].cost;
      ++head_;
    }
    if (head_ == entries_.size()) {
      entries_.clear();
      head_ = 0;
    } else if (head_ > 32 && head_ * 2 > entries_.size()) {
      entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  /// Records `cost` admitted at `at`. Instants never go back in the log: a
  /// clock that stepped back records at the newest instant (conservative).
  void append(Micros at, std::int64_t cost) {
    if (!empty() && at <= entries_.back().at) {
      entries_.back().cost += cost;
    } else {
      entries_.push_back({at, cost});
    }
    used_ += cost;
  }
  [[nodiscard]] bool empty() const noexcept { return head_ == entries_.size(); }
  [[nodiscard]] std::int64_t used() const noexcept { return used_; }
  [[nodiscard]] Micros newest() const noexcept { return entries_.back().at; }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size() - head_; }
  [[nodiscard]] const Entry* begin() const noexcept { return entries_.data() + head_; }
  [[nodiscard]] const Entry* end() const noexcept { return entries_.data() + entries_.size(); }
  void clear() noexcept {
    entries_.clear();
    head_ = 0;
    used_ = 0;
  }

 private:
  std::vector<Entry> entries_;
  std::size_t head_ = 0;
  std::int64_t used_ = 0;
};

/// Instant from which a state whose newest entry is `newest` equals a new key's.
[[nodiscard]] inline Micros expires_at(const State& s, Micros window) noexcept {
  return s.empty() ? 0 : s.newest() + window;
}

/// Decides one request of `cost` units at `now` without recording it: the
/// decision `step` would return. Prunes entries that no longer count (which
/// changes no decision). Multi-limit decisions evaluate every limit first and
/// `commit` only when all admit.
inline Decision evaluate(const LimitSpec& spec, State& s, Micros now, std::int64_t cost) {
  const Micros window = spec.window();
  const std::int64_t limit = spec.limit();
  s.prune(now, window);
  const std::int64_t used = s.used();

  Decision d;
  d.limit = limit;
  std::int64_t used_after = used;
  Micros newest_after = s.empty() ? 0 : s.newest();
  if (used + cost <= limit) {
    d.allowed = true;
    if (cost > 0) {
      used_after += cost;
      newest_after = s.empty() ? now : std::max(now, s.newest());
    }
  } else if (cost > limit) {
    d.retry_after = kInfinite;
  } else {
    // Oldest first: the first entry whose expiry frees enough room.
    std::int64_t expired = 0;
    for (const Entry& e : s) {
      expired += e.cost;
      if (used - expired <= limit - cost) {
        d.retry_after = std::max<Micros>(1, e.at + window - now);
        break;
      }
    }
  }
  d.remaining = std::max<std::int64_t>(0, limit - used_after);
  const bool any = used_after > 0;
  d.reset_after = any ? std::max<Micros>(0, newest_after + window - now) : 0;
  return d;
}

/// Records an admitted request (after `evaluate` admitted it at the same `now`).
inline void commit(State& s, Micros now, std::int64_t cost) {
  if (cost > 0) s.append(s.empty() ? now : std::max(now, s.newest()), cost);
}

/// One request of `cost` units at `now` (cost 0 is a peek). Updates `s` in
/// place: on admission it records the request; otherwise it only prunes.
inline Decision step(const LimitSpec& spec, State& s, Micros now, std::int64_t cost) {
  Decision d = evaluate(spec, s, now, cost);
  if (d.allowed) commit(s, now, cost);
  return d;
}

}  // namespace ratelimit::algo::sliding_log
