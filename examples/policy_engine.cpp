// The policy engine from C++: load a YAML policy, decide requests, assign a
// tier at run time, reload. Runs on a manual clock and checks its own
// decisions (docs/config.md quotes it).
//
//   example_policy_engine [examples/tiers.yaml]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/policy/config_loader.hpp"
#include "ratelimit/policy/engine.hpp"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "unexpected: %s\n", what);
    std::exit(EXIT_FAILURE);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ratelimit;
  using namespace ratelimit::policy;
  const std::string file = argc > 1 ? argv[1] : RATELIMIT_EXAMPLES_DIR "/tiers.yaml";

  // A config that does not load throws ConfigError listing every problem
  // as file:line:column: message (hint).
  PolicyConfig config;
  try {
    config = load_config_file(file);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return EXIT_FAILURE;
  }

  ManualClock clock(1'800'000'000 * kMicrosPerSecond);
  MemoryStore store;                                // limiter state
  auto attributes = make_memory_attribute_store();  // runtime tiers and lists
  PolicyEngine engine(store, *attributes, clock, config);

  // Free tier: 100 burst, then 1 per second.
  PolicyDecision d;
  for (int i = 0; i < 101; ++i) d = engine.decide({.user = "bob", .ip = "192.0.2.7"});
  std::printf("bob: allowed=%d tier=%s scope=%s retry_after=%lldus\n", d.allowed, d.tier.c_str(),
              d.scope.c_str(), static_cast<long long>(d.decision.retry_after));
  check(!d.allowed && d.tier == "free" && d.decision.retry_after == kMicrosPerSecond, "free tier");

  // Upgrade bob at run time for an hour; every instance sharing the store agrees.
  engine.assign_tier(IdType::user, "bob", "pro", kMicrosPerHour, "billing");
  d = engine.decide({.user = "bob"});
  check(d.allowed && d.tier == "pro", "pro tier");

  // Reload: swapped atomically; limits that did not change keep their usage.
  engine.reload(load_config_file(file));
  std::printf("reloads: %llu\n", static_cast<unsigned long long>(engine.reloads()));
  return EXIT_SUCCESS;
}
