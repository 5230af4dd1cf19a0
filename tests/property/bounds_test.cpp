// Property 1: what each algorithm admits stays within its bound, checked over
// every interval of a random monotone request sequence; and every decision
// keeps the per-decision invariants of spec/algorithms.md.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "property/generators.hpp"

namespace ratelimit::prop {
namespace {

void check_bounds(Algorithm algorithm) {
  const SpecParams p = *gen_spec_of(algorithm);
  const Micros start = *gen_start(p);
  const std::vector<Req> reqs = *gen_requests(p);

  Runner runner(p.make());
  std::vector<Admit> admits;
  Micros now = start;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    now += reqs[i].advance;
    const Decision d = runner.step(now, reqs[i].cost);
    if (const auto v = decision_invariant_violation(p, reqs[i].cost, d, true); !v.empty()) {
      RC_FAIL("request #" + std::to_string(i) + " at " + std::to_string(now) + " cost " +
              std::to_string(reqs[i].cost) + ": " + v + " [" + show(d) + "]");
    }
    if (d.allowed && reqs[i].cost > 0) admits.push_back({now, reqs[i].cost});
  }
  if (const auto v = bound_violation(p, admits); !v.empty()) RC_FAIL(v);
  RC_CLASSIFY(admits.size() * 2 <= reqs.size(), "mostly denied");
}

RC_GTEST_PROP(Bounds, TokenBucket, ()) { check_bounds(Algorithm::token_bucket); }
RC_GTEST_PROP(Bounds, Gcra, ()) { check_bounds(Algorithm::gcra); }
RC_GTEST_PROP(Bounds, LeakyBucket, ()) { check_bounds(Algorithm::leaky_bucket); }
RC_GTEST_PROP(Bounds, FixedWindow, ()) { check_bounds(Algorithm::fixed_window); }
RC_GTEST_PROP(Bounds, SlidingWindow, ()) { check_bounds(Algorithm::sliding_window); }
RC_GTEST_PROP(Bounds, SlidingLog, ()) { check_bounds(Algorithm::sliding_log); }

}  // namespace
}  // namespace ratelimit::prop
