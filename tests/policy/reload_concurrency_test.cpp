// Reload under load: decisions keep going while configs are swapped; each
// decision sees one whole config, and a limit that stays the same across
// reloads counts exactly across them.
#include <atomic>
#include <thread>
#include <vector>

#include "policy_fixture.hpp"

namespace ratelimit::policy::testing {
namespace {

using ReloadConcurrencyTest = PolicyFixture;

constexpr const char* kWithExtra = R"(
limits:
  - {name: steady, scope: user, rate: 1/hour, burst: 500}
  - {name: extra, scope: ip, rate: 1000000/s}
)";
constexpr const char* kWithoutExtra = R"(
limits:
  - {name: steady, scope: user, rate: 1/hour, burst: 500}
)";

TEST_F(ReloadConcurrencyTest, DecisionsSeeWholeConfigsAndUnchangedLimitsStayExact) {
  load_text(kWithExtra);
  const PolicyConfig with = load_config(kWithExtra);
  const PolicyConfig without = load_config(kWithoutExtra);
  std::atomic<bool> stop{false};
  std::atomic<int> admitted{0};
  std::atomic<int> torn{0};
  std::vector<std::thread> deciders;
  for (int t = 0; t < 4; ++t) {
    deciders.emplace_back([&] {
      // At least 400 decisions each, and on until 20 reloads happened: on a
      // busy machine the reloader may start late.
      for (int i = 0; i < 400 || engine_->reloads() < 20; ++i) {
        const auto d = engine_->decide({.user = "u", .ip = "192.0.2.1"});
        admitted += d.allowed ? 1 : 0;
        // Two checks under one config, one under the other: never a mix.
        const bool has_extra = std::any_of(d.checks.begin(), d.checks.end(),
                                           [](const CheckResult& c) { return c.scope == "extra"; });
        if (d.checks.size() != (has_extra ? 2U : 1U)) ++torn;
      }
    });
  }
  std::thread reloader([&] {
    for (int i = 0; !stop.load(); ++i) engine_->reload(i % 2 == 0 ? without : with);
  });
  for (auto& t : deciders) t.join();
  stop = true;
  reloader.join();
  EXPECT_EQ(admitted.load(), 500) << "the unchanged limit counted across every reload";
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GE(engine_->reloads(), 20U);
}

}  // namespace
}  // namespace ratelimit::policy::testing
