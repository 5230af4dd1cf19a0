#pragma once
// A deliberately simple Store for tests: one mutex, one std::map, the step
// functions applied literally. Used as the oracle that MemoryStore's
// lock-free paths are compared against; not part of the library.

#include <map>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "ratelimit/algorithms.hpp"
#include "ratelimit/store.hpp"

namespace ratelimit::testing {

class ReferenceStore final : public Store {
 public:
  Decision decide(std::span<const Check> checks, std::int64_t cost, Micros now,
                  std::span<Decision> each = {}) override {
    for (std::size_t i = 0; i < checks.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (checks[i].key == checks[j].key) throw InvalidRequest("the same key appears twice in one decision");
      }
    }
    std::lock_guard lock(mu_);
    std::vector<Decision> decisions(checks.size());
    std::map<std::string, State> working;  // states as charged in this decision (keys are distinct)
    for (std::size_t i = 0; i < checks.size(); ++i) {
      const Check& c = checks[i];
      // The check's effective cost (Check::cost): a peek charges nothing.
      const std::int64_t k = cost == 0 || c.cost == Check::kDecisionCost ? cost : c.cost;
      std::string key(c.key);
      auto stored = states_.find(key);
      State s = stored != states_.end() && stored->second.algorithm == c.spec->algorithm()
                    ? stored->second
                    : fresh(*c.spec, now);
      decisions[i] = apply(*c.spec, s, now, k);
      decisions[i].check_index = static_cast<std::uint32_t>(i);
      // A check charged nothing keeps its state (and an absent key stays absent).
      if (k > 0) working.insert_or_assign(key, std::move(s));
    }
    const Decision combined = combine(decisions);
    if (combined.allowed && cost > 0) {
      for (auto& [key, s] : working) states_.insert_or_assign(key, std::move(s));
    }
    if (!each.empty()) std::copy(decisions.begin(), decisions.end(), each.begin());
    return combined;
  }

  void reset(std::span<const Check> checks) override {
    std::lock_guard lock(mu_);
    for (const Check& c : checks) states_.erase(std::string(c.key));
  }

  [[nodiscard]] StoreStats stats() const override {
    std::lock_guard lock(mu_);
    StoreStats s;
    s.keys = states_.size();
    return s;
  }

 private:
  struct State {
    Algorithm algorithm;
    std::variant<algo::token_bucket::State, algo::gcra::State, algo::leaky_bucket::State,
                 algo::fixed_window::State, algo::sliding_window::State, algo::sliding_log::State>
        value;
  };

  static State fresh(const LimitSpec& spec, Micros now) {
    switch (spec.algorithm()) {
      case Algorithm::token_bucket: return {spec.algorithm(), algo::token_bucket::fresh(now)};
      case Algorithm::gcra: return {spec.algorithm(), algo::gcra::fresh(now)};
      case Algorithm::leaky_bucket: return {spec.algorithm(), algo::leaky_bucket::fresh(now)};
      case Algorithm::fixed_window: return {spec.algorithm(), algo::fixed_window::fresh(spec, now)};
      case Algorithm::sliding_window: return {spec.algorithm(), algo::sliding_window::fresh(spec, now)};
      case Algorithm::sliding_log: return {spec.algorithm(), algo::sliding_log::State{}};
    }
    return {spec.algorithm(), algo::token_bucket::fresh(now)};
  }

  // Applies one check to the working state: charged if it admits.
  static Decision apply(const LimitSpec& spec, State& s, Micros now, std::int64_t cost) {
    return std::visit(
        [&](auto& st) -> Decision {
          using T = std::decay_t<decltype(st)>;
          if constexpr (std::is_same_v<T, algo::sliding_log::State>) {
            return algo::sliding_log::step(spec, st, now, cost);
          } else {
            auto r = step_of(spec, st, now, cost);
            if (r.decision.allowed) st = r.next;
            return r.decision;
          }
        },
        s.value);
  }
  static auto step_of(const LimitSpec& sp, const algo::token_bucket::State& s, Micros n, std::int64_t k) { return algo::token_bucket::step(sp, s, n, k); }
  static auto step_of(const LimitSpec& sp, const algo::gcra::State& s, Micros n, std::int64_t k) { return algo::gcra::step(sp, s, n, k); }
  static auto step_of(const LimitSpec& sp, const algo::leaky_bucket::State& s, Micros n, std::int64_t k) { return algo::leaky_bucket::step(sp, s, n, k); }
  static auto step_of(const LimitSpec& sp, const algo::fixed_window::State& s, Micros n, std::int64_t k) { return algo::fixed_window::step(sp, s, n, k); }
  static auto step_of(const LimitSpec& sp, const algo::sliding_window::State& s, Micros n, std::int64_t k) { return algo::sliding_window::step(sp, s, n, k); }

  mutable std::mutex mu_;
  std::map<std::string, State> states_;
};

}  // namespace ratelimit::testing
