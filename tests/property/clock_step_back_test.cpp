// Property 3: a clock that steps back never mints capacity.
//
// Sequences whose instants sometimes go backwards (by up to a few windows).
// The limiter can only know about instants it stored, so the reference point
// is the state's own time: the latest instant of an admitted request so far,
// tau. Each request at t is "effectively" at e = max(t, tau). Then:
// - every decision keeps the per-decision invariants (nothing negative, retry
//   rules, never-admissible costs), except that a peek may be denied;
// - whatever is admitted at t would also be admitted at e (going back never
//   helps);
// - token_bucket and leaky_bucket: the decision at t is exactly the decision
//   at e ("elapsed time counts as 0 and state time never moves backwards");
// - the admitted requests, placed at their effective instants (which never
//   decrease), keep the bound of property 1.
//
// Why not "the back-stepping run admits no more than the same run with each
// instant clamped to the running maximum": that fails for any correct
// limiter: an instant that left no state behind (a peek, a denial, a request
// on a new key) cannot be remembered. E.g. token_bucket 2/1000us: a peek at
// S+1, then cost 1 at S, S+499, S+500 admits 3; clamped to S+1, S+1, S+499,
// S+500 it admits 2, and 3 units in the clamped [S+1, S+500] exceed
// burst + rate*499us = 2.998.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "property/generators.hpp"

namespace ratelimit::prop {
namespace {

void check_step_back(Algorithm algorithm) {
  const SpecParams p = *gen_spec_of(algorithm);
  const Micros start = *gen_start(p);
  const std::vector<Req> reqs = *gen_requests_with_steps_back(p);

  Runner runner(p.make());
  std::vector<Admit> admits;
  bool stepped_back = false;
  Micros now = start;
  Micros highest = start;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    now += reqs[i].advance;
    const std::int64_t cost = reqs[i].cost;
    if (now < highest) stepped_back = true;
    highest = std::max(highest, now);
    const Micros effective = runner.high_water() ? std::max(now, *runner.high_water()) : now;
    const std::string at = "request #" + std::to_string(i) + " at " + std::to_string(now) + " (effective " +
                           std::to_string(effective) + ") cost " + std::to_string(cost);

    const Decision at_effective = runner.probe(effective, cost);
    const Decision d = runner.step(now, cost);
    if (const auto v = decision_invariant_violation(p, cost, d, false); !v.empty()) {
      RC_FAIL(at + ": " + v + " [" + show(d) + "]");
    }
    if (d.allowed && !at_effective.allowed) {
      RC_FAIL(at + ": admitted [" + show(d) + "] but denied at the effective instant [" + show(at_effective) + "]");
    }
    if ((algorithm == Algorithm::token_bucket || algorithm == Algorithm::leaky_bucket) && !(d == at_effective)) {
      RC_FAIL(at + ": decision " + show(d) + " differs from the decision at the effective instant " +
              show(at_effective));
    }
    if (d.allowed && cost > 0) admits.push_back({effective, cost});
  }
  if (const auto v = bound_violation(p, admits); !v.empty()) RC_FAIL("at effective instants: " + v);
  RC_CLASSIFY(stepped_back, "clock stepped back");
}

RC_GTEST_PROP(ClockStepBack, TokenBucket, ()) { check_step_back(Algorithm::token_bucket); }
RC_GTEST_PROP(ClockStepBack, Gcra, ()) { check_step_back(Algorithm::gcra); }
RC_GTEST_PROP(ClockStepBack, LeakyBucket, ()) { check_step_back(Algorithm::leaky_bucket); }
RC_GTEST_PROP(ClockStepBack, FixedWindow, ()) { check_step_back(Algorithm::fixed_window); }
RC_GTEST_PROP(ClockStepBack, SlidingWindow, ()) { check_step_back(Algorithm::sliding_window); }
RC_GTEST_PROP(ClockStepBack, SlidingLog, ()) { check_step_back(Algorithm::sliding_log); }

}  // namespace
}  // namespace ratelimit::prop
