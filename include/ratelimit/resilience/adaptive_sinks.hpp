#pragma once
/// @file resilience/adaptive_sinks.hpp
/// How adaptive controllers hand their output (a rate, a concurrency limit)
/// to the limiters they drive: callbacks that always end on the latest value.

#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace ratelimit {

/// The callbacks ("sinks") of one adaptive controller, and the value they saw
/// last. A controller changes its state under its own lock and then calls
/// `publish` outside it, so a slow sink never blocks the request path of
/// other threads and a sink may read the controller (`rate()`, `stats()`).
///
/// Ordering: `publish` reads the controller's current value under this
/// object's mutex and delivers it only if it differs from the last delivered
/// one. Two threads that change the controller at once may therefore merge
/// into one delivery, but the last value every sink receives is the
/// controller's latest: a driven limiter never stays on a stale rate.
///
/// Thread-safe. A sink runs with this object's mutex held: it must not change
/// the controller that calls it (that would deadlock). An exception thrown by
/// a sink propagates out of the controller call that triggered it; the
/// controller's own state has already changed by then.
template <typename T>
class AdaptiveSinks final {
 public:
  using Sink = std::function<void(T)>;

  /// Calls `sink(read())` now, then on every later change. `sink` must stay
  /// callable as long as the controller lives. Empty functions are ignored.
  template <typename Read>
  void add(Sink sink, Read&& read) {
    if (!sink) return;
    const std::lock_guard lock(mu_);
    const T value = std::forward<Read>(read)();
    sink(value);
    sinks_.push_back(std::move(sink));
    delivered_ = value;
    has_delivered_ = true;
  }

  /// Delivers `read()` to every sink unless they already have it.
  template <typename Read>
  void publish(Read&& read) {
    const std::lock_guard lock(mu_);
    if (sinks_.empty()) return;
    const T value = std::forward<Read>(read)();
    if (has_delivered_ && value == delivered_) return;
    delivered_ = value;
    has_delivered_ = true;
    for (const Sink& sink : sinks_) sink(value);
  }

 private:
  std::mutex mu_;
  std::vector<Sink> sinks_;     // Guarded by mu_.
  T delivered_{};               // Guarded by mu_: what the sinks saw last.
  bool has_delivered_ = false;  // Guarded by mu_.
};

}  // namespace ratelimit
