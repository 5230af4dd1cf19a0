#pragma once
// Shared pieces of the property tests: generators for limits and request
// sequences, a runner that drives the pure step functions like a store does,
// the decision invariants every algorithm keeps, and the admitted-cost bounds
// of spec/algorithms.md. Test-only.

#include <rapidcheck.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "ratelimit/algorithms.hpp"
#include "ratelimit/decision.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/time.hpp"

namespace ratelimit::prop {

// ---------------------------------------------------------------------------
// Values and how RapidCheck shows them in a counterexample.

/// A limit before validation; shown whole in counterexamples.
struct SpecParams {
  Algorithm algorithm = Algorithm::token_bucket;
  std::int64_t limit = 1;
  Micros window = 1000;
  std::optional<std::int64_t> burst;
  std::optional<LeakyMode> mode;

  [[nodiscard]] LimitSpec make() const { return LimitSpec(LimitParams{algorithm, limit, window, burst, mode}); }
  /// `burst` for buckets, `limit` for windows: what a decision reports as its limit.
  [[nodiscard]] std::int64_t capacity() const { return is_bucket(algorithm) ? burst.value_or(limit) : limit; }
};

inline std::ostream& operator<<(std::ostream& os, const SpecParams& p) {
  os << to_string(p.algorithm) << " limit=" << p.limit << " window=" << p.window << "us";
  if (p.burst) os << " burst=" << *p.burst;
  if (p.mode) os << " mode=" << to_string(*p.mode);
  return os;
}
inline void showValue(const SpecParams& p, std::ostream& os) { os << p; }

/// One request: how far the clock moves before it (may be negative only in
/// the clock-step-back properties) and its cost (0 = peek).
struct Req {
  Micros advance = 0;
  std::int64_t cost = 1;
};
inline std::ostream& operator<<(std::ostream& os, const Req& r) {
  return os << "{+" << r.advance << "us, k=" << r.cost << "}";
}
inline void showValue(const Req& r, std::ostream& os) { os << r; }

inline std::string show(const Decision& d) {
  std::ostringstream os;
  os << (d.allowed ? "allowed" : "denied") << " limit=" << d.limit << " remaining=" << d.remaining
     << " reset_after=" << d.reset_after << " retry_after=";
  if (d.retry_after == kInfinite) {
    os << "inf";
  } else {
    os << d.retry_after;
  }
  os << " delay=" << d.delay << " check_index=" << d.check_index;
  return os.str();
}

/// `a` and `b` within `tolerance` (no overflow for kInfinite).
inline bool near(Micros a, Micros b, Micros tolerance) {
  if (a == kInfinite || b == kInfinite) return a == b;
  return (a > b ? a - b : b - a) <= tolerance;
}

/// Same decision, durations within ±`tolerance` µs.
inline bool same_decision(const Decision& a, const Decision& b, Micros tolerance) {
  return a.allowed == b.allowed && a.limit == b.limit && a.remaining == b.remaining &&
         a.check_index == b.check_index && near(a.reset_after, b.reset_after, tolerance) &&
         near(a.retry_after, b.retry_after, tolerance) && near(a.delay, b.delay, tolerance);
}

// ---------------------------------------------------------------------------
// Generators.

/// Around 2023-11: realistic instants (~2^50.6 µs).
inline constexpr Micros kBaseInstant = 1'700'000'000'000'000;
inline constexpr Micros kMinWindow = kMicrosPerMilli;
inline constexpr Micros kMaxWindow = 10 * kMicrosPerSecond;

inline rc::Gen<Micros> gen_window(std::int64_t limit) {
  // Windows divisible by the limit (integral emission interval) make exact
  // boundaries reachable by whole steps; arbitrary ones exercise rounding.
  const Micros min_t = std::max<Micros>(1, (kMinWindow + limit - 1) / limit);
  const Micros max_t = kMaxWindow / limit;
  return rc::gen::weightedOneOf<Micros>({
      {3, rc::gen::inRange<Micros>(kMinWindow, kMaxWindow + 1)},
      {2, rc::gen::element(Micros{kMinWindow}, Micros{7 * kMinWindow}, Micros{kMicrosPerSecond}, Micros{kMaxWindow})},
      {3, rc::gen::map(rc::gen::inRange<Micros>(min_t, max_t + 1), [limit](Micros t) { return t * limit; })},
  });
}

/// A valid limit of algorithm `a` with small counts (limit 1..50, window
/// 1 ms..10 s, burst 1..3*limit or the default).
inline rc::Gen<SpecParams> gen_spec_of(Algorithm a) {
  return rc::gen::exec([a] {
    SpecParams p;
    p.algorithm = a;
    p.limit = *rc::gen::inRange<std::int64_t>(1, 51);
    p.window = *gen_window(p.limit);
    if (is_bucket(a) && *rc::gen::inRange(0, 3) != 0) {
      p.burst = *rc::gen::inRange<std::int64_t>(1, 3 * p.limit + 1);
    }
    if (a == Algorithm::leaky_bucket) {
      p.mode = *rc::gen::element(LeakyMode::police, LeakyMode::shape);
    }
    return p;
  });
}

inline rc::Gen<SpecParams> gen_spec_among(std::vector<Algorithm> algorithms) {
  return rc::gen::mapcat(rc::gen::elementOf(std::move(algorithms)), [](Algorithm a) { return gen_spec_of(a); });
}

inline const std::vector<Algorithm>& all_algorithms() {
  static const std::vector<Algorithm> all{Algorithm::token_bucket,  Algorithm::gcra,
                                          Algorithm::leaky_bucket,  Algorithm::fixed_window,
                                          Algorithm::sliding_window, Algorithm::sliding_log};
  return all;
}
inline const std::vector<Algorithm>& bucket_algorithms() {
  static const std::vector<Algorithm> b{Algorithm::token_bucket, Algorithm::gcra, Algorithm::leaky_bucket};
  return b;
}
inline const std::vector<Algorithm>& window_algorithms() {
  static const std::vector<Algorithm> w{Algorithm::fixed_window, Algorithm::sliding_window, Algorithm::sliding_log};
  return w;
}

/// First instant: near kBaseInstant, on a window boundary or anywhere.
inline rc::Gen<Micros> gen_start(const SpecParams& p) {
  const Micros aligned = kBaseInstant / p.window * p.window;
  return rc::gen::weightedOneOf<Micros>({
      {1, rc::gen::just(aligned)},
      {2, rc::gen::map(rc::gen::inRange<Micros>(0, 2 * p.window), [aligned](Micros d) { return aligned + d; })},
  });
}

/// A non-negative clock advance at the scales that matter for `p`: none,
/// below / at / just past one emission interval, up to a few windows.
inline rc::Gen<Micros> gen_advance(const SpecParams& p) {
  const Micros t = std::max<Micros>(1, p.window / p.limit);
  return rc::gen::weightedOneOf<Micros>({
      {4, rc::gen::just<Micros>(0)},
      {6, rc::gen::inRange<Micros>(1, t + 2)},
      {2, rc::gen::element(Micros{t - 1}, Micros{t}, Micros{t + 1})},
      {3, rc::gen::inRange<Micros>(0, p.window + 2)},
      {1, rc::gen::inRange<Micros>(0, 3 * p.window)},
  });
}

/// A cost: mostly 1, else anything in 0 .. capacity+2 (so never-admissible
/// requests and peeks occur).
inline rc::Gen<std::int64_t> gen_cost(const SpecParams& p) {
  return rc::gen::weightedOneOf<std::int64_t>({
      {5, rc::gen::just<std::int64_t>(1)},
      {4, rc::gen::inRange<std::int64_t>(0, p.capacity() + 3)},
  });
}

/// Up to 200 requests (lengths grow with RapidCheck's size: 0..100 -> 0..200, capped).
inline rc::Gen<std::vector<Req>> sequence_of(rc::Gen<Req> req) {
  return rc::gen::withSize([req](int size) {
    return rc::gen::resize(std::min(200, 4 * size), rc::gen::container<std::vector<Req>>(req));
  });
}

/// A request sequence of up to 200 requests, times non-decreasing.
inline rc::Gen<std::vector<Req>> gen_requests(const SpecParams& p) {
  return sequence_of(rc::gen::construct<Req>(gen_advance(p), gen_cost(p)));
}

/// A request sequence where the clock also steps back now and then (by up to
/// a few windows).
inline rc::Gen<std::vector<Req>> gen_requests_with_steps_back(const SpecParams& p) {
  const auto advance = rc::gen::weightedOneOf<Micros>({
      {6, gen_advance(p)},
      {1, rc::gen::map(rc::gen::inRange<Micros>(1, 3 * p.window), [](Micros d) { return -d; })},
      {1, rc::gen::map(rc::gen::inRange<Micros>(1, std::max<Micros>(2, p.window / p.limit + 2)), [](Micros d) { return -d; })},
  });
  return sequence_of(rc::gen::construct<Req>(advance, gen_cost(p)));
}

/// Absolute instants of `reqs` from `start`.
inline std::vector<Micros> instants(Micros start, const std::vector<Req>& reqs) {
  std::vector<Micros> out;
  out.reserve(reqs.size());
  Micros t = start;
  for (const Req& r : reqs) {
    t += r.advance;
    out.push_back(t);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Driving the step functions.

using AnyState = std::variant<algo::token_bucket::State, algo::gcra::State, algo::leaky_bucket::State,
                              algo::fixed_window::State, algo::sliding_window::State, algo::sliding_log::State>;

inline AnyState fresh_state(const LimitSpec& spec, Micros now) {
  switch (spec.algorithm()) {
    case Algorithm::token_bucket: return algo::token_bucket::fresh(now);
    case Algorithm::gcra: return algo::gcra::fresh(now);
    case Algorithm::leaky_bucket: return algo::leaky_bucket::fresh(now);
    case Algorithm::fixed_window: return algo::fixed_window::fresh(spec, now);
    case Algorithm::sliding_window: return algo::sliding_window::fresh(spec, now);
    case Algorithm::sliding_log: return algo::sliding_log::State{};
  }
  return algo::token_bucket::fresh(now);
}

/// What a runner stores after a step.
enum class Commit : std::uint8_t {
  /// The stores' rule: the returned state only when admitted with cost > 0.
  admitted,
  /// Every returned state, also of peeks and denials (the spec allows a
  /// store to keep "a refill computed during the check").
  always,
};

/// One key's state driven through the pure step functions.
class Runner {
 public:
  explicit Runner(LimitSpec spec, Commit commit = Commit::admitted) : spec_(std::move(spec)), commit_(commit) {}

  /// Decides one request and stores the resulting state per the commit rule.
  Decision step(Micros now, std::int64_t cost) {
    const AnyState s = state_ ? *state_ : fresh_state(spec_, now);
    const auto [d, next] = apply(spec_, s, now, cost);
    if (commit_ == Commit::always || (d.allowed && cost > 0)) state_ = next;
    if (d.allowed && cost > 0) high_ = high_ ? std::max(*high_, now) : now;
    return d;
  }

  /// The decision `step` would return, changing nothing.
  [[nodiscard]] Decision probe(Micros now, std::int64_t cost) const {
    AnyState s = state_ ? *state_ : fresh_state(spec_, now);
    return apply(spec_, s, now, cost).first;
  }

  /// The decision of a new key.
  [[nodiscard]] Decision probe_fresh(Micros now, std::int64_t cost) const {
    AnyState s = fresh_state(spec_, now);
    return apply(spec_, s, now, cost).first;
  }

  /// Latest instant of an admitted request with cost > 0 (the committed
  /// state's time), if any.
  [[nodiscard]] std::optional<Micros> high_water() const { return high_; }
  [[nodiscard]] bool has_state() const { return state_.has_value(); }
  [[nodiscard]] const std::optional<AnyState>& state() const { return state_; }
  [[nodiscard]] const LimitSpec& spec() const { return spec_; }

  /// The algorithm's expires_at of the stored state (0 when none).
  [[nodiscard]] Micros expires_at() const {
    if (!state_) return 0;
    return std::visit(
        [this](const auto& st) -> Micros {
          using T = std::decay_t<decltype(st)>;
          if constexpr (std::is_same_v<T, algo::sliding_log::State>) {
            return algo::sliding_log::expires_at(st, spec_.window());
          } else if constexpr (std::is_same_v<T, algo::token_bucket::State>) {
            return algo::token_bucket::expires_at(st);
          } else if constexpr (std::is_same_v<T, algo::gcra::State>) {
            return algo::gcra::expires_at(st);
          } else if constexpr (std::is_same_v<T, algo::leaky_bucket::State>) {
            return algo::leaky_bucket::expires_at(st);
          } else if constexpr (std::is_same_v<T, algo::fixed_window::State>) {
            return algo::fixed_window::expires_at(st);
          } else {
            return algo::sliding_window::expires_at(st);
          }
        },
        *state_);
  }

  /// Applies one request to `s`, returning the decision and the state after it.
  static std::pair<Decision, AnyState> apply(const LimitSpec& spec, const AnyState& s, Micros now,
                                             std::int64_t cost) {
    return std::visit(
        [&](const auto& st) -> std::pair<Decision, AnyState> {
          using T = std::decay_t<decltype(st)>;
          if constexpr (std::is_same_v<T, algo::sliding_log::State>) {
            algo::sliding_log::State copy = st;
            const Decision d = algo::sliding_log::step(spec, copy, now, cost);
            return {d, AnyState(std::move(copy))};
          } else if constexpr (std::is_same_v<T, algo::token_bucket::State>) {
            const auto r = algo::token_bucket::step(spec, st, now, cost);
            return {r.decision, AnyState(r.next)};
          } else if constexpr (std::is_same_v<T, algo::gcra::State>) {
            const auto r = algo::gcra::step(spec, st, now, cost);
            return {r.decision, AnyState(r.next)};
          } else if constexpr (std::is_same_v<T, algo::leaky_bucket::State>) {
            const auto r = algo::leaky_bucket::step(spec, st, now, cost);
            return {r.decision, AnyState(r.next)};
          } else if constexpr (std::is_same_v<T, algo::fixed_window::State>) {
            const auto r = algo::fixed_window::step(spec, st, now, cost);
            return {r.decision, AnyState(r.next)};
          } else {
            const auto r = algo::sliding_window::step(spec, st, now, cost);
            return {r.decision, AnyState(r.next)};
          }
        },
        s);
  }

 private:
  LimitSpec spec_;
  Commit commit_;
  std::optional<AnyState> state_;
  std::optional<Micros> high_;
};

// ---------------------------------------------------------------------------
// Invariants of a single decision.

/// Empty when `d` (for a request of `cost` under `p`) keeps every per-decision
/// invariant of spec/algorithms.md; otherwise what it breaks. `monotone`: the
/// clock never went back before this request (a peek is then always admitted).
inline std::string decision_invariant_violation(const SpecParams& p, std::int64_t cost, const Decision& d,
                                                bool monotone) {
  const std::int64_t cap = p.capacity();
  const bool shaping = p.algorithm == Algorithm::leaky_bucket && p.mode == LeakyMode::shape;
  if (d.limit != cap) return "limit is not " + std::to_string(cap);
  if (d.remaining < 0) return "remaining < 0";
  if (d.remaining > cap) return "remaining > limit";
  if (d.reset_after < 0) return "reset_after < 0";
  if (d.delay < 0) return "delay < 0";
  if (!shaping && d.delay != 0) return "delay != 0 outside leaky_bucket shape mode";
  if (!d.allowed && d.delay != 0) return "denied with delay != 0";
  if (d.allowed && d.retry_after != 0) return "allowed with retry_after != 0";
  if (!d.allowed && d.retry_after <= 0) return "denied with retry_after <= 0";
  if (cost > cap && (d.allowed || d.retry_after != kInfinite)) return "cost > limit not denied with retry_after infinite";
  if (cost <= cap && !d.allowed && d.retry_after == kInfinite) return "admissible cost denied with retry_after infinite";
  if (!d.allowed && cost > 0 && d.remaining >= cost) return "denied although remaining >= cost";
  if (d.allowed && cost > 0 && d.remaining > cap - cost) return "allowed but remaining > limit - cost";
  if (d.allowed && cost > 0 && d.reset_after <= 0) return "allowed with cost > 0 but reset_after == 0";
  if (monotone && cost == 0 && !d.allowed) return "peek denied under a monotone clock";
  return {};
}

// ---------------------------------------------------------------------------
// Bounds on admitted cost. Each returns an empty string when the bound holds,
// else a description of the first violation. `admits` must be in admission
// order with non-decreasing instants.

struct Admit {
  Micros at = 0;
  std::int64_t cost = 0;
};

/// Buckets: admitted cost in any [t_i, t_j] <= burst + rate * (t_j - t_i) (+1e-6).
inline std::string bucket_bound_violation(const std::vector<Admit>& admits, std::int64_t burst, std::int64_t limit,
                                          Micros window) {
  const double b = static_cast<double>(burst);
  const double rate = static_cast<double>(limit) / static_cast<double>(window);
  for (std::size_t i = 0; i < admits.size(); ++i) {
    std::int64_t sum = 0;
    for (std::size_t j = i; j < admits.size(); ++j) {
      sum += admits[j].cost;
      const double d = static_cast<double>(admits[j].at - admits[i].at);
      const double bound = b + rate * d + 1e-6;
      if (static_cast<double>(sum) > bound) {
        std::ostringstream os;
        os << "admitted " << sum << " in [" << admits[i].at << ", " << admits[j].at << "] (length " << d
           << "us) > burst + rate*d = " << bound;
        return os.str();
      }
    }
  }
  return {};
}

/// fixed_window: at most `limit` per epoch-aligned window.
inline std::string fixed_window_bound_violation(const std::vector<Admit>& admits, std::int64_t limit, Micros window) {
  std::size_t i = 0;
  while (i < admits.size()) {
    const Micros id = admits[i].at / window;
    std::int64_t sum = 0;
    std::size_t j = i;
    for (; j < admits.size() && admits[j].at / window == id; ++j) sum += admits[j].cost;
    if (sum > limit) {
      std::ostringstream os;
      os << "admitted " << sum << " in window [" << id * window << ", " << (id + 1) * window << ") > limit " << limit;
      return os.str();
    }
    i = j;
  }
  return {};
}

/// sliding_log: for every admission at t, admitted cost in (t - W, t] <= limit.
inline std::string sliding_log_bound_violation(const std::vector<Admit>& admits, std::int64_t limit, Micros window) {
  for (const Admit& a : admits) {
    std::int64_t sum = 0;
    for (const Admit& b : admits) {
      if (b.at > a.at - window && b.at <= a.at) sum += b.cost;
    }
    if (sum > limit) {
      std::ostringstream os;
      os << "admitted " << sum << " in (" << a.at - window << ", " << a.at << "] > limit " << limit;
      return os.str();
    }
  }
  return {};
}

/// sliding_window: for every admission, prev*(W-elapsed)/W + curr <= limit + 1e-9
/// (counts from the admitted history, curr including the admission itself),
/// and at most `limit` per aligned window.
inline std::string sliding_window_bound_violation(const std::vector<Admit>& admits, std::int64_t limit,
                                                  Micros window) {
  if (auto v = fixed_window_bound_violation(admits, limit, window); !v.empty()) return v;
  const double w = static_cast<double>(window);
  for (std::size_t j = 0; j < admits.size(); ++j) {
    const Micros id = admits[j].at / window;
    std::int64_t prev = 0;
    std::int64_t curr = 0;
    for (std::size_t i = 0; i < admits.size(); ++i) {
      const Micros other = admits[i].at / window;
      if (other == id - 1) prev += admits[i].cost;
      if (other == id && i <= j) curr += admits[i].cost;
    }
    const double elapsed = static_cast<double>(admits[j].at - id * window);
    const double estimate = static_cast<double>(prev) * (w - elapsed) / w + static_cast<double>(curr);
    if (estimate > static_cast<double>(limit) + 1e-9) {
      std::ostringstream os;
      os.precision(17);
      os << "admission #" << j << " at " << admits[j].at << ": prev=" << prev << " curr=" << curr
         << " elapsed=" << elapsed << " estimate=" << estimate << " > limit " << limit;
      return os.str();
    }
  }
  return {};
}

inline std::string bound_violation(const SpecParams& p, const std::vector<Admit>& admits) {
  switch (p.algorithm) {
    case Algorithm::token_bucket:
    case Algorithm::gcra:
    case Algorithm::leaky_bucket: return bucket_bound_violation(admits, p.capacity(), p.limit, p.window);
    case Algorithm::fixed_window: return fixed_window_bound_violation(admits, p.limit, p.window);
    case Algorithm::sliding_window: return sliding_window_bound_violation(admits, p.limit, p.window);
    case Algorithm::sliding_log: return sliding_log_bound_violation(admits, p.limit, p.window);
  }
  return "unknown algorithm";
}

}  // namespace ratelimit::prop
