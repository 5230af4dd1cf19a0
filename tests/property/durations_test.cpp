// The reported numbers mean what spec/algorithms.md says (monotone clock,
// conformance tolerance ±1 µs on durations):
// - retry_after: "the least µs after which the same request would be
//   admitted if nothing else arrives": at now + retry_after + 1 it is
//   admitted, at now + retry_after - 2 it is still denied;
// - remaining: "units that could still be admitted now, after this
//   decision": a request of `remaining` units at the same instant is
//   admitted, one of `remaining + 1` is denied;
// - reset_after: "µs until the limiter is back to its full/empty state":
//   from now + reset_after + 1 on, the key decides like a new key;
// - the stores' contract "a state whose reset_after has passed equals an
//   absent key, so a store may drop it": from the algorithm's
//   expires_at(state) on (what MemoryStore drops by), the state decides like
//   a new key.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "property/generators.hpp"

namespace ratelimit::prop {
namespace {

std::string where(std::size_t i, Micros now, std::int64_t cost) {
  return "after request #" + std::to_string(i) + " at " + std::to_string(now) + " cost " +
         std::to_string(cost);
}

struct Case {
  SpecParams p;
  Micros start = 0;
  std::vector<Req> reqs;
};

// Replays the case's requests through `runner`, calling
// check(index, now, cost, decision) after each.
template <class Fn>
void replay(const Case& c, Runner& runner, Fn&& check) {
  Micros now = c.start;
  for (std::size_t i = 0; i < c.reqs.size(); ++i) {
    now += c.reqs[i].advance;
    check(i, now, c.reqs[i].cost, runner.step(now, c.reqs[i].cost));
  }
}

Case gen_case() {
  Case c;
  c.p = *gen_spec_among(all_algorithms());
  c.start = *gen_start(c.p);
  c.reqs = *gen_requests(c.p);
  return c;
}

RC_GTEST_PROP(Durations, RetryAfterIsTheLeastWait, ()) {
  const Case c = gen_case();
  Runner runner(c.p.make());
  std::size_t checked = 0;
  replay(c, runner, [&](std::size_t i, Micros now, std::int64_t cost, const Decision& d) {
    if (d.allowed || d.retry_after == kInfinite) return;
    ++checked;
    const Decision later = runner.probe(now + d.retry_after + 1, cost);
    if (!later.allowed) {
      RC_FAIL(where(i, now, cost) + ": denied with retry_after " + std::to_string(d.retry_after) +
              " but the same request at now + retry_after + 1 is denied too: " + show(later));
    }
    if (d.retry_after >= 2) {
      const Decision early = runner.probe(now + d.retry_after - 2, cost);
      if (early.allowed) {
        RC_FAIL(where(i, now, cost) + ": denied with retry_after " + std::to_string(d.retry_after) +
                " but the same request at now + retry_after - 2 is admitted: " + show(early));
      }
    }
  });
  RC_CLASSIFY(checked > 0, "some denials");
}

RC_GTEST_PROP(Durations, RemainingIsWhatCanStillBeAdmitted, ()) {
  const Case c = gen_case();
  Runner runner(c.p.make());
  replay(c, runner, [&](std::size_t i, Micros now, std::int64_t cost, const Decision& d) {
    if (d.remaining > 0) {
      const Decision all = runner.probe(now, d.remaining);
      if (!all.allowed) {
        RC_FAIL(where(i, now, cost) + ": remaining " + std::to_string(d.remaining) +
                " but a request of that cost at once is denied: " + show(all));
      }
    }
    const Decision more = runner.probe(now, d.remaining + 1);
    if (more.allowed) {
      RC_FAIL(where(i, now, cost) + ": remaining " + std::to_string(d.remaining) +
              " but a request of remaining + 1 at once is admitted: " + show(more));
    }
  });
}

RC_GTEST_PROP(Durations, AfterResetAfterTheKeyIsNew, ()) {
  const Case c = gen_case();
  Runner runner(c.p.make());
  replay(c, runner, [&](std::size_t i, Micros now, std::int64_t cost, const Decision& d) {
    const Micros then = now + d.reset_after + 1;
    for (const std::int64_t k :
         {std::int64_t{0}, std::int64_t{1}, c.p.capacity(), c.p.capacity() + 1}) {
      const Decision kept = runner.probe(then, k);
      const Decision fresh = runner.probe_fresh(then, k);
      if (!(kept == fresh)) {
        RC_FAIL(where(i, now, cost) + " [" + show(d) + "]: at now + reset_after + 1, cost " +
                std::to_string(k) + ": state decides " + show(kept) + ", a new key " + show(fresh));
      }
    }
  });
}

void check_expired_state_equals_new_key(Commit commit) {
  const Case c = gen_case();
  Runner runner(c.p.make(), commit);
  replay(c, runner, [&](std::size_t i, Micros now, std::int64_t cost, const Decision&) {
    if (!runner.has_state()) return;
    // Already expired (expires_at <= now): a store may drop it right now.
    const Micros expires = std::max(runner.expires_at(), now);
    for (const Micros then : {expires, expires + 1}) {
      for (const std::int64_t k :
           {std::int64_t{0}, std::int64_t{1}, c.p.capacity(), c.p.capacity() + 1}) {
        const Decision kept = runner.probe(then, k);
        const Decision fresh = runner.probe_fresh(then, k);
        if (!(kept == fresh)) {
          RC_FAIL(where(i, now, cost) +
                  ": at max(now, expires_at(state)) = " + std::to_string(expires) + " (+" +
                  std::to_string(then - expires) + "), cost " + std::to_string(k) +
                  ": state decides " + show(kept) + ", a new key " + show(fresh));
        }
      }
    }
  });
}

RC_GTEST_PROP(Durations, ExpiredStateEqualsNewKey, ()) {
  check_expired_state_equals_new_key(Commit::admitted);
}

// Also for states a store kept from a peek or denial (a refill it may store).
RC_GTEST_PROP(Durations, ExpiredStateEqualsNewKeyStoringEveryReturnedState, ()) {
  check_expired_state_equals_new_key(Commit::always);
}

}  // namespace
}  // namespace ratelimit::prop
