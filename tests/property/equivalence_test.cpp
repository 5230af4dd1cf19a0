// Property 4: algorithms the spec says decide alike do.
// - token_bucket and gcra with the same burst and rate: identical `allowed`
//   and `remaining`, `retry_after` within ±1 µs ("for any sequence").
// - leaky_bucket (police or shape) admits exactly what token_bucket admits
//   ("same admissions as token_bucket"); its level is B - tokens, so
//   `remaining`, `retry_after` and `reset_after` agree as well.
// `reset_after` of token_bucket and gcra is the same quantity too
// ((B - tokens)/r = tat - now) and is compared within ±1 µs.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "property/generators.hpp"

namespace ratelimit::prop {
namespace {

std::string where(std::size_t i, Micros now, std::int64_t cost) {
  return "request #" + std::to_string(i) + " at " + std::to_string(now) + " cost " + std::to_string(cost);
}

/// Runs `reqs` through `p` (a token_bucket) and the same limit under
/// `other`; every decision must agree.
void check_alike(const SpecParams& p, Algorithm other, std::optional<LeakyMode> mode, Micros start,
                 const std::vector<Req>& reqs) {
  SpecParams q = p;
  q.algorithm = other;
  q.mode = mode;
  Runner tb(p.make());
  Runner alt(q.make());
  Micros now = start;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    now += reqs[i].advance;
    const std::int64_t cost = reqs[i].cost;
    const Decision a = tb.step(now, cost);
    const Decision b = alt.step(now, cost);
    const bool agree = a.allowed == b.allowed && a.limit == b.limit && a.remaining == b.remaining &&
                       near(a.retry_after, b.retry_after, 1) && near(a.reset_after, b.reset_after, 1);
    if (!agree) {
      RC_FAIL(where(i, now, cost) + ": token_bucket " + show(a) + ", " + std::string(to_string(other)) + " " +
              show(b));
    }
  }
}

RC_GTEST_PROP(Equivalence, TokenBucketAndGcra, ()) {
  const SpecParams p = *gen_spec_of(Algorithm::token_bucket);
  check_alike(p, Algorithm::gcra, std::nullopt, *gen_start(p), *gen_requests(p));
}

RC_GTEST_PROP(Equivalence, TokenBucketAndLeakyBucket, ()) {
  const SpecParams p = *gen_spec_of(Algorithm::token_bucket);
  const LeakyMode mode = *rc::gen::element(LeakyMode::police, LeakyMode::shape);
  check_alike(p, Algorithm::leaky_bucket, mode, *gen_start(p), *gen_requests(p));
}

// spec/algorithms.md: "GCRA and token_bucket with the same B and r must give
// identical allowed, remaining and retry_after for any sequence", and for all
// bucket algorithms "if now is earlier than the state's last update (clock
// went back), elapsed time counts as 0". So the equivalence also holds when
// the clock steps back. (reset_after is left out here: the spec does not
// pin it under a clock that went back.)
RC_GTEST_PROP(Equivalence, TokenBucketAndGcraWhenTheClockStepsBack, ()) {
  const SpecParams p = *gen_spec_of(Algorithm::token_bucket);
  const Micros start = *gen_start(p);
  const std::vector<Req> reqs = *gen_requests_with_steps_back(p);
  SpecParams q = p;
  q.algorithm = Algorithm::gcra;
  Runner tb(p.make());
  Runner gcra(q.make());
  Micros now = start;
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    now += reqs[i].advance;
    const std::int64_t cost = reqs[i].cost;
    const Decision a = tb.step(now, cost);
    const Decision b = gcra.step(now, cost);
    const bool agree = a.allowed == b.allowed && a.remaining == b.remaining && near(a.retry_after, b.retry_after, 1);
    if (!agree) RC_FAIL(where(i, now, cost) + ": token_bucket " + show(a) + ", gcra " + show(b));
  }
}

}  // namespace
}  // namespace ratelimit::prop
