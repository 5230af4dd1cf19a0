// The policy engine's request path: resolve attributes (lists, tier,
// endpoint, cost, keys) and decide every applicable limit against the memory
// store. The issue's goal: 5 scopes in <= 1.5 µs. Baseline in the same run:
// the store deciding the same 5 checks with prebuilt keys, so the figure
// "policy overhead" is the difference.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "ratelimit/attribute_store.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/policy/config_loader.hpp"
#include "ratelimit/policy/engine.hpp"

namespace {

using namespace ratelimit;

// Five scopes: global, ip, caller (tier), [caller, endpoint], [user, ip].
// Rates are low enough that states stay live between a user's requests (a
// state that refilled completely is a new key: see DESIGN.md), as on a real
// API where each caller is limited to far less than the service handles.
constexpr const char* kFiveScopes = R"(
default_tier: free
tiers:
  free: {limits: [{name: per_hour, rate: 1000/hour}]}
limits:
  - {name: global, scope: global, rate: 100000000/hour}
  - {name: per_ip, scope: ip, counts: requests, rate: 1000/hour}
  - {name: per_user_ip, scope: [user, ip], rate: 1000/hour}
endpoints:
  - match: GET /users/{id}
    limits: [{name: user_reads, rate: 1000/hour}]
  - match: POST /ocr/process
    cost: 10
whitelist:
  - {cidr: 10.0.0.0/8}
)";

constexpr int kUsers = 10'000;

struct Users {
  std::vector<std::string> names;
  std::vector<std::string> ips;
  std::vector<std::string> paths;
  Users() {
    for (int i = 0; i < kUsers; ++i) {
      names.push_back("user-" + std::to_string(i));
      ips.push_back("198.51." + std::to_string(i / 250) + "." + std::to_string(i % 250));
      paths.push_back("/users/" + std::to_string(100000 + i));
    }
  }
};

// One engine shared by the benchmark's threads, warmed up once: every user's
// states exist before timing starts (steady state).
struct SharedEngine {
  MemoryStore store;
  std::unique_ptr<AttributeStore> attributes = make_memory_attribute_store();
  policy::PolicyEngine engine{store, *attributes, SystemClock::instance(),
                              policy::load_config(kFiveScopes)};
  Users users;
  SharedEngine() {
    for (std::size_t u = 0; u < kUsers; ++u) (void)decide(u);
  }
  policy::PolicyDecision decide(std::size_t u) {
    return engine.decide(
        {.user = users.names[u], .ip = users.ips[u], .method = "GET", .path = users.paths[u]});
  }
};

void BM_PolicyDecideFiveScopes(benchmark::State& state) {
  static SharedEngine shared;
  // Threads take users far apart, as different callers would.
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * (kUsers / 2);
  std::size_t checks = 0;
  for (auto _ : state) {
    const auto d = shared.decide(i++ % kUsers);
    checks += d.checks.size();
    benchmark::DoNotOptimize(d.allowed);
  }
  state.counters["checks_per_request"] =
      benchmark::Counter(static_cast<double>(checks) / static_cast<double>(state.iterations()),
                         benchmark::Counter::kAvgThreads);
  state.counters["requests_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PolicyDecideFiveScopes)->Threads(1)->Threads(2)->UseRealTime();

// The same five checks, keys prebuilt: what the store alone costs.
void BM_StoreDecideFiveChecksBaseline(benchmark::State& state) {
  MemoryStore store;
  const LimitSpec spec(Algorithm::token_bucket, 1000, kMicrosPerHour);
  const LimitSpec global(Algorithm::token_bucket, 100'000'000, kMicrosPerHour);
  static const Users users;
  std::vector<std::array<std::string, 5>> keys;
  for (int u = 0; u < kUsers; ++u) {
    const auto& n = users.names[static_cast<std::size_t>(u)];
    const auto& ip = users.ips[static_cast<std::size_t>(u)];
    keys.push_back({"g/global/00000000|{g}", "g/per_ip/00000000|{ip=" + ip + "}",
                    "g/per_user_ip/00000000|{u=" + n + "}|ip=" + ip,
                    "t:free/per_hour/00000000|{u=" + n + "}",
                    "e:00000000/user_reads/00000000|{u=" + n + "}|e=GET /users/{id}"});
  }
  const auto five = [&](const std::array<std::string, 5>& k) {
    const std::array<Check, 5> checks{Check{&global, k[0]}, Check{&spec, k[1]}, Check{&spec, k[2]},
                                      Check{&spec, k[3]}, Check{&spec, k[4]}};
    return store.decide(checks, 1, SystemClock::instance().now()).allowed;
  };
  for (const auto& k : keys) (void)five(k);  // steady state, as above
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(five(keys[i++ % kUsers]));
}
BENCHMARK(BM_StoreDecideFiveChecksBaseline);

// A whitelisted request: lists are checked before anything is counted.
void BM_PolicyWhitelistedRequest(benchmark::State& state) {
  MemoryStore store;
  const auto attributes = make_memory_attribute_store();
  policy::PolicyEngine engine(store, *attributes, SystemClock::instance(),
                              policy::load_config(kFiveScopes));
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        engine.decide({.user = "ops", .ip = "10.1.2.3", .method = "GET", .path = "/users/1"})
            .allowed);
  }
}
BENCHMARK(BM_PolicyWhitelistedRequest);

}  // namespace

BENCHMARK_MAIN();
