// The recommendation loop: recommend -> emit YAML -> load it -> replay the
// same log through the policy engine -> the identifiers it said would be
// limited are, and no others.
#include "ratelimit/planning/replay.hpp"

#include <gtest/gtest.h>

#include "ratelimit/memory_store.hpp"
#include "ratelimit/planning/traffic_report.hpp"
#include "ratelimit/policy/config_loader.hpp"
#include "ratelimit/policy/engine.hpp"

namespace ratelimit::planning {
namespace {

constexpr Micros kS = kMicrosPerSecond;
constexpr Micros kMonday = 1'796'601'600LL * kS;

struct Owned {
  std::string ip;
  Micros time;
};

/// Identifier i (1..50) sends 2*i requests spread over 3 seconds, every 10 minutes, 3 times.
std::vector<Owned> traffic() {
  std::vector<Owned> out;
  for (int round = 0; round < 3; ++round) {
    for (int i = 1; i <= 50; ++i) {
      for (int k = 0; k < 2 * i; ++k) {
        out.push_back({"192.0.2." + std::to_string(i),
                       kMonday + round * 600 * kS + i * 5 * kS + k * (3 * kS) / (2 * i)});
      }
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Owned& a, const Owned& b) { return a.time < b.time; });
  return out;
}

LogRecord record_of(const Owned& o) {
  LogRecord r;
  r.time = o.time;
  r.ip = o.ip;
  r.method = "GET";
  r.path = "/api";
  r.status = 200;
  return r;
}

TEST(Replay, EmittedConfigsLoadAndLimitWhatTheyPredict) {
  const auto log = traffic();
  TrafficAnalyzer a;
  for (const auto& o : log) a.add(record_of(o));
  const auto recs = recommend(a, Target{Target::Kind::identifiers, 0.9});
  ASSERT_EQ(recs.size(), 6u);
  for (const auto& rec : recs) {
    SCOPED_TRACE(std::string(to_string(rec.algorithm)));
    const auto yaml = policy_yaml(rec, IdentifierKind::ip);
    policy::PolicyConfig config;
    ASSERT_NO_THROW(config = policy::load_config(yaml, "emitted.yaml")) << yaml;
    // What ratelimitd does with a config: an engine over a store.
    MemoryStore store;
    const auto attributes = make_memory_attribute_store();
    ManualClock clock(kMonday);
    ASSERT_NO_THROW(policy::PolicyEngine(store, *attributes, clock, config));

    Replayer replay(config, IdentifierKind::ip);
    for (const auto& o : log) replay.add(record_of(o));
    const auto result = replay.result(100);
    EXPECT_EQ(result.requests, log.size());
    EXPECT_EQ(result.invalid, 0u);
    // Identifiers predicted never limited are never limited.
    EXPECT_LE(result.identifiers_limited, rec.identifiers - rec.identifiers_never_limited);
    // p90 of 50: the 5 busiest (46..50) are over every measure.
    EXPECT_GE(result.identifiers_limited, 1u);
    for (const auto& [id, n] : result.top_limited) {
      EXPECT_GE(std::stoi(id.substr(8)), 46) << id << " limited " << n;
    }
    if (rec.algorithm == Algorithm::fixed_window) {
      EXPECT_EQ(result.limited, *rec.requests_limited);
    }
  }
}

TEST(Replay, RequestsWithoutTheIdentifierAreCountedApart) {
  // Limited per ip; identifiers counted by user: the anonymous caller's
  // denials are not an identifier.
  policy::PolicyConfig config =
      policy::load_config("version: 1\nlimits:\n  - {name: l, rate: 1/s, scope: ip}\n", "inline");
  Replayer replay(config, IdentifierKind::user);
  LogRecord r;
  r.time = kMonday;
  r.ip = "192.0.2.1";
  for (int i = 0; i < 3; ++i) replay.add(r);  // no user: 2 denied
  r.ip = "192.0.2.2";
  r.user = "alice";
  for (int i = 0; i < 2; ++i) replay.add(r);  // alice: 1 denied
  const auto result = replay.result();
  EXPECT_EQ(result.limited, 3u);
  EXPECT_EQ(result.limited_without_identifier, 2u);
  EXPECT_EQ(result.identifiers_limited, 1u);
  ASSERT_EQ(result.top_limited.size(), 1u);
  EXPECT_EQ(result.top_limited[0].first, "alice");
}

TEST(Replay, InvalidRequestsAreCountedNotThrown) {
  policy::PolicyConfig config =
      policy::load_config("version: 1\nlimits:\n  - {name: l, rate: 1/s, scope: ip}\n", "inline");
  Replayer replay(config, IdentifierKind::ip);
  LogRecord r;
  r.time = kMonday;
  r.ip = "not-an-address";
  replay.add(r);
  r.ip = "192.0.2.1";
  replay.add(r);
  replay.add(r);
  const auto result = replay.result();
  EXPECT_EQ(result.invalid, 1u);
  EXPECT_FALSE(result.first_invalid.empty());
  EXPECT_EQ(result.limited, 1u);
  EXPECT_EQ(result.identifiers_limited, 1u);
  EXPECT_EQ(result.limited_without_identifier, 0u);
  ASSERT_EQ(result.by_scope.size(), 1u);
  EXPECT_EQ(result.by_scope[0].first, "l");
}

}  // namespace
}  // namespace ratelimit::planning
