// Property 2: peeks and denials change no later decision.
//
// A random monotone sequence S runs once alone; then again with extra peeks
// inserted at random instants between its requests and with every denied
// request repeated at once (same instant). Every request of S must get the
// identical decision in both runs, and every repeat of a denied request must
// get the decision the request itself got.
//
// Checked on the pure step functions (with the stores' commit rule, and with
// a runner that stores every returned state, i.e. also the refill computed
// by peeks and denials, which spec/algorithms.md allows), on ReferenceStore
// and on MemoryStore; plus atomicity of denied multi-check decisions.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <memory>
#include <string>

#include "property/generators.hpp"
#include "ratelimit/memory_store.hpp"
#include "support/reference_store.hpp"

namespace ratelimit::prop {
namespace {

/// What to insert around one request of S.
struct Extra {
  /// Peeks before the request, as fractions (per mille) of its clock advance.
  std::vector<std::int32_t> peeks;
  /// How often to repeat the request at once if it was denied.
  std::int32_t repeats = 0;
};
void showValue(const Extra& e, std::ostream& os) {
  os << "{peeks per mille:";
  for (auto f : e.peeks) os << ' ' << f;
  os << ", repeats: " << e.repeats << "}";
}

rc::Gen<Extra> gen_extra() {
  return rc::gen::construct<Extra>(
      rc::gen::weightedOneOf<std::vector<std::int32_t>>({
          {2, rc::gen::just(std::vector<std::int32_t>{})},
          {3, rc::gen::resize(2, rc::gen::container<std::vector<std::int32_t>>(rc::gen::inRange(0, 1001)))},
      }),
      rc::gen::inRange(0, 3));
}

std::string where(std::size_t i, Micros now, std::int64_t cost) {
  return "request #" + std::to_string(i) + " at " + std::to_string(now) + " cost " + std::to_string(cost);
}

/// Runs the property against anything that decides (now, cost) for one key.
/// `decide_a` sees S alone; `decide_b` sees S with the extras.
template <class DecideA, class DecideB>
void check_no_side_effects(const SpecParams& p, Micros start, const std::vector<Req>& reqs,
                           const std::vector<Extra>& extras, DecideA&& decide_a, DecideB&& decide_b) {
  Micros prev = start;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    const Micros now = prev + reqs[i].advance;
    const std::int64_t cost = reqs[i].cost;
    // Peeks in B only, at non-decreasing instants in [prev, now].
    std::vector<std::int32_t> fracs = extras[i].peeks;
    std::sort(fracs.begin(), fracs.end());
    for (const std::int32_t f : fracs) {
      const Micros at = prev + reqs[i].advance * f / 1000;
      const Decision peek = decide_b(at, std::int64_t{0});
      if (const auto v = decision_invariant_violation(p, 0, peek, true); !v.empty()) {
        RC_FAIL("peek at " + std::to_string(at) + " before " + where(i, now, cost) + ": " + v + " [" + show(peek) + "]");
      }
    }
    const Decision a = decide_a(now, cost);
    const Decision b = decide_b(now, cost);
    if (const auto v = decision_invariant_violation(p, cost, a, true); !v.empty()) {
      RC_FAIL(where(i, now, cost) + ": " + v + " [" + show(a) + "]");
    }
    if (!(a == b)) {
      RC_FAIL(where(i, now, cost) + ": alone " + show(a) + ", with peeks/repeats " + show(b));
    }
    if (!b.allowed) {
      for (std::int32_t r = 0; r < extras[i].repeats; ++r) {
        const Decision again = decide_b(now, cost);
        if (!(again == b)) {
          RC_FAIL(where(i, now, cost) + " denied " + show(b) + "; repeated at once: " + show(again));
        }
      }
    }
    prev = now;
  }
}

struct Case {
  SpecParams p;
  Micros start;
  std::vector<Req> reqs;
  std::vector<Extra> extras;
};

Case gen_case() {
  Case c;
  c.p = *gen_spec_among(all_algorithms());
  c.start = *gen_start(c.p);
  c.reqs = *gen_requests(c.p);
  c.extras = *rc::gen::container<std::vector<Extra>>(c.reqs.size(), gen_extra());
  return c;
}

void check_steps(Commit b_commit) {
  const Case c = gen_case();
  Runner a(c.p.make(), Commit::admitted);
  Runner b(c.p.make(), b_commit);
  check_no_side_effects(
      c.p, c.start, c.reqs, c.extras, [&](Micros now, std::int64_t cost) { return a.step(now, cost); },
      [&](Micros now, std::int64_t cost) { return b.step(now, cost); });
}

RC_GTEST_PROP(NoSideEffects, StepFunctionsWithStoreCommitRule, ()) { check_steps(Commit::admitted); }

// Stores may keep the refill a peek or denial computed; that must not change
// any later decision either.
RC_GTEST_PROP(NoSideEffects, StepFunctionsStoringEveryReturnedState, ()) { check_steps(Commit::always); }

template <class MakeStore>
void check_store(MakeStore&& make_store) {
  const Case c = gen_case();
  const LimitSpec spec = c.p.make();
  const auto store_a = make_store();
  const auto store_b = make_store();
  const Check check{&spec, "user:42"};
  check_no_side_effects(
      c.p, c.start, c.reqs, c.extras,
      [&](Micros now, std::int64_t cost) { return store_a->decide_one(check, cost, now); },
      [&](Micros now, std::int64_t cost) { return store_b->decide_one(check, cost, now); });
}

RC_GTEST_PROP(NoSideEffects, ReferenceStore, ()) {
  check_store([] { return std::make_unique<testing::ReferenceStore>(); });
}

RC_GTEST_PROP(NoSideEffects, MemoryStore, ()) {
  check_store([] { return std::make_unique<MemoryStore>(MemoryStoreOptions{.shards = 4}); });
}

/// A denied multi-check decision charges none of its checks: peeking every
/// key alone right before and right after it gives identical decisions.
template <class MakeStore>
void check_denied_multi_check_is_atomic(MakeStore&& make_store) {
  const std::size_t n = *rc::gen::inRange<std::size_t>(2, 4);
  std::vector<SpecParams> params;
  std::vector<LimitSpec> specs;
  for (std::size_t i = 0; i < n; ++i) {
    params.push_back(*gen_spec_among(all_algorithms()));
    specs.push_back(params.back().make());
  }
  static constexpr std::array<const char*, 3> kKeys{"global", "ip:10.0.0.1", "user:42"};
  std::vector<Check> checks;
  for (std::size_t i = 0; i < n; ++i) checks.push_back({&specs[i], kKeys[i]});

  // Steps sized for the first limit; the others see the same instants.
  const Micros start = *gen_start(params[0]);
  const std::vector<Req> reqs = *gen_requests(params[0]);
  const auto store = make_store();
  std::vector<Decision> before(n);
  std::vector<Decision> after(n);
  std::vector<Decision> each(n);
  Micros now = start;
  std::size_t denied = 0;
  for (std::size_t r = 0; r < reqs.size(); ++r) {
    now += reqs[r].advance;
    for (std::size_t i = 0; i < n; ++i) before[i] = store->decide_one(checks[i], 0, now);
    const Decision d = store->decide(checks, reqs[r].cost, now, each);
    if (!(d == combine(each))) RC_FAIL(where(r, now, reqs[r].cost) + ": decision is not combine(each)");
    for (std::size_t i = 0; i < n; ++i) {
      if (const auto v = decision_invariant_violation(params[i], reqs[r].cost, each[i], true); !v.empty()) {
        RC_FAIL(where(r, now, reqs[r].cost) + " check " + std::to_string(i) + ": " + v + " [" + show(each[i]) + "]");
      }
    }
    if (d.allowed) continue;
    ++denied;
    for (std::size_t i = 0; i < n; ++i) {
      after[i] = store->decide_one(checks[i], 0, now);
      if (!(after[i] == before[i])) {
        RC_FAIL(where(r, now, reqs[r].cost) + " denied [" + show(d) + "] but changed check " + std::to_string(i) +
                " (" + kKeys[i] + "): peek before " + show(before[i]) + ", after " + show(after[i]));
      }
    }
  }
  RC_CLASSIFY(denied > 0, "some multi-check denials");
}

RC_GTEST_PROP(NoSideEffects, DeniedMultiCheckChargesNothingReferenceStore, ()) {
  check_denied_multi_check_is_atomic([] { return std::make_unique<testing::ReferenceStore>(); });
}

RC_GTEST_PROP(NoSideEffects, DeniedMultiCheckChargesNothingMemoryStore, ()) {
  check_denied_multi_check_is_atomic([] { return std::make_unique<MemoryStore>(MemoryStoreOptions{.shards = 4}); });
}

}  // namespace
}  // namespace ratelimit::prop
