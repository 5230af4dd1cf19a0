// multi_limit.cpp: scopes and tiers from a configuration table, decided
// atomically, plus the less common corners of the API.
//
//   1. Limits as data: LimitParams rows validated once with LimitSpec::validate.
//   2. Every request checked against a global, a per-IP and a per-user limit in
//      one all-or-nothing Store::decide; the limiting scope named. Checks
//      charged different costs in one decision (Check::cost).
//   3. Leaky bucket in shape mode: admit, but tell the caller to wait (delay).
//   4. The algorithms as pure functions, with no store: a what-if.
//   5. Batches, sweeping and statistics.
//   6. What counts as bad input.
//
// Runs on a ManualClock and checks its own decisions.
//
//   ninja example_multi_limit && ./examples/example_multi_limit
//
// docs/api.md quotes this file; tests/install checks that the quotes still match.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ratelimit/ratelimit.hpp"

namespace {

using ratelimit::Algorithm;
using ratelimit::Check;
using ratelimit::Decision;
using ratelimit::kMicrosPerMilli;
using ratelimit::kMicrosPerSecond;
using ratelimit::LimitParams;
using ratelimit::LimitSpec;
using ratelimit::ManualClock;
using ratelimit::MemoryStore;
using ratelimit::Micros;

constexpr Micros kStart = 1'700'000'000 * kMicrosPerSecond;

void expect(bool ok, std::string_view what) {
  if (!ok) {
    std::cerr << "unexpected: " << what << '\n';
    std::exit(EXIT_FAILURE);
  }
}

/// One row of a configuration file, as parsed text and numbers.
struct Row {
  std::string scope;
  std::string algorithm;
  std::int64_t limit;
  std::int64_t window_ms;
  std::optional<std::int64_t> burst;
};

// ---------------------------------------------------------------------------
// 1. Limits as data.
// ---------------------------------------------------------------------------

/// The valid rows of `rows` as specs; prints the invalid ones. A real loader
/// would reject the whole configuration instead of skipping a row.
std::vector<std::pair<std::string, LimitSpec>> load(const std::vector<Row>& rows) {
  std::vector<std::pair<std::string, LimitSpec>> specs;
  for (const Row& row : rows) {
    LimitParams params;
    try {
      params.algorithm = ratelimit::parse_algorithm(row.algorithm);  // throws on unknown names
    } catch (const ratelimit::InvalidLimitSpec& e) {
      std::cout << "  rejected " << row.scope << ": " << e.what() << '\n';
      continue;
    }
    params.limit = row.limit;
    params.window = row.window_ms * kMicrosPerMilli;
    params.burst = row.burst;
    // validate() returns the message LimitSpec(params) would throw, or "".
    if (const std::string error = LimitSpec::validate(params); !error.empty()) {
      std::cout << "  rejected " << row.scope << ": " << error << '\n';
      continue;
    }
    specs.emplace_back(row.scope, LimitSpec(params));
    std::cout << "  " << row.scope << ": " << describe(specs.back().second) << '\n';
  }
  return specs;
}

// ---------------------------------------------------------------------------
// 2. Scopes, atomically.
// ---------------------------------------------------------------------------
void scoped_requests() {
  std::cout << "1-2. Limits from a table; global + ip + user checked together\n";
  const std::vector<Row> rows = {
      {"global", "sliding_window", 1000, 1000, std::nullopt},
      {"ip", "gcra", 5, 1000, 3},
      {"user", "sliding_log", 4, 60'000, std::nullopt},
      {"typo", "token_buket", 10, 1000, std::nullopt},
      {"broken", "fixed_window", 0, 1000, std::nullopt},
  };
  const auto specs = load(rows);
  expect(specs.size() == 3, "the misspelt and the zero-limit rows are rejected");

  // Bounded memory: at most 100'000 live keys; a flood of new keys is refused
  // rather than evicting known ones.
  MemoryStore store(
      {.shards = 16, .max_keys = 100'000, .overflow = ratelimit::OverflowPolicy::reject_new_keys});
  ManualClock clock(kStart);

  // One request from `ip` by `user`. Keys carry the scope, so two scopes never
  // share a state; the strings live until decide() returns.
  auto request = [&](std::string_view ip, std::string_view user) {
    const std::array<std::string, 3> keys = {"global", "ip:" + std::string(ip),
                                             "user:" + std::string(user)};
    std::array<Check, 3> checks{};
    for (std::size_t i = 0; i < checks.size(); ++i) checks[i] = {&specs[i].second, keys[i]};
    std::array<Decision, 3> each{};
    const Decision d = store.decide(checks, 1, clock.now(), each);
    // The combined decision is combine() of the per-check ones.
    expect(d == ratelimit::combine(each), "decide() combines as combine() does");
    std::cout << "  " << user << "@" << ip << ": " << (d.allowed ? "allowed" : "429")
              << "  scope=" << specs[d.check_index].first << " remaining=" << d.remaining
              << " retry_after=" << d.retry_after << "us\n";
    return d;
  };

  // The ip limit (burst 3) binds first for a single client...
  for (int i = 0; i < 3; ++i) expect(request("203.0.113.7", "u1").allowed, "within burst");
  const Decision by_ip = request("203.0.113.7", "u1");
  expect(!by_ip.allowed && specs[by_ip.check_index].first == "ip", "ip limit reached");
  // ...the same user from another address is still within the user limit (4 per minute)...
  expect(request("198.51.100.9", "u1").allowed, "a fresh ip");
  // ...and then the user limit binds wherever the requests come from.
  clock.advance(kMicrosPerSecond);
  const Decision by_user = request("192.0.2.1", "u1");
  expect(!by_user.allowed && specs[by_user.check_index].first == "user", "user limit reached");

  // Checks charged different amounts in one decision: a tier budget counts
  // cost units (a batch OCR call costs 50), the per-IP limit counts requests.
  const LimitSpec budget(Algorithm::token_bucket, 1000, ratelimit::kMicrosPerHour);
  const LimitSpec per_ip(Algorithm::gcra, 5, kMicrosPerSecond);
  const std::array<Check, 2> priced{{
      {&budget, "budget:tenant:7"},    // charged the decision's cost: 50
      {&per_ip, "ip:203.0.113.8", 1},  // charged 1, whatever the decision's cost
  }};
  std::array<Decision, 2> priced_each{};
  const Decision priced_d = store.decide(priced, 50, clock.now(), priced_each);
  std::cout << "  batch OCR call: " << (priced_d.allowed ? "allowed" : "429")
            << "  budget remaining=" << priced_each[0].remaining
            << " ip remaining=" << priced_each[1].remaining << '\n';
  expect(priced_d.allowed && priced_each[0].remaining == 950 && priced_each[1].remaining == 4,
         "the budget is charged 50, the ip limit 1");
}

// ---------------------------------------------------------------------------
// 3. Shaping instead of dropping.
// ---------------------------------------------------------------------------
void shaping() {
  std::cout << "3. Leaky bucket, shape mode: 10 per second, queue of 5\n";
  auto clock = std::make_shared<ManualClock>(kStart);
  ratelimit::Limiter shaper(
      LimitSpec(Algorithm::leaky_bucket, 10, kMicrosPerSecond, 5, ratelimit::LeakyMode::shape),
      std::make_shared<MemoryStore>(), clock);
  for (int i = 1; i <= 6; ++i) {
    const Decision d = shaper.try_acquire("batch-job");
    if (d.allowed) {
      // Admitted into the queue: proceed after d.delay µs (100 ms per request ahead).
      std::cout << "  #" << i << " admitted, wait " << d.delay / kMicrosPerMilli << " ms\n";
    } else {
      std::cout << "  #" << i << " queue full, retry in " << d.retry_after / kMicrosPerMilli
                << " ms\n";
    }
    expect(d.allowed == (i <= 5), "five fit in the queue");
    expect(d.delay == (i <= 5 ? (i - 1) * 100 * kMicrosPerMilli : 0), "each waits its turn");
  }
}

// ---------------------------------------------------------------------------
// 4. Pure step functions.
// ---------------------------------------------------------------------------
void what_if() {
  std::cout << "4. What-if with a pure step function (no store, no clock)\n";
  // How many of 10 requests, 50 ms apart, would a 5-per-second GCRA with
  // burst 2 admit? step() returns the decision and the next state.
  namespace gcra = ratelimit::algo::gcra;
  const LimitSpec spec(Algorithm::gcra, 5, kMicrosPerSecond, 2);
  gcra::State state = gcra::fresh(kStart);
  int admitted = 0;
  for (int i = 0; i < 10; ++i) {
    const Micros now = kStart + i * 50 * kMicrosPerMilli;
    const auto [decision, next] = gcra::step(spec, state, now, 1);
    if (decision.allowed) {
      state = next;  // a store commits `next` only for an admitted request
      ++admitted;
    }
  }
  std::cout << "  admitted " << admitted << " of 10\n";
  expect(admitted == 4, "burst 2, then one every 200 ms");
}

// ---------------------------------------------------------------------------
// 5. Batches, sweeping, statistics.
// ---------------------------------------------------------------------------
void store_extras() {
  std::cout << "5. Batches, sweeping, statistics\n";
  MemoryStore store;
  ManualClock clock(kStart);

  // Many independent single-check decisions at one instant (a batch of events
  // from several tenants): the same results as decide_one in order, faster.
  const LimitSpec per_tenant(Algorithm::fixed_window, 2, kMicrosPerSecond);
  const std::array<Check, 4> batch{{{&per_tenant, "tenant:a"},
                                    {&per_tenant, "tenant:b"},
                                    {&per_tenant, "tenant:a"},
                                    {&per_tenant, "tenant:a"}}};
  std::array<Decision, 4> out{};
  store.decide_many(batch, 1, clock.now(), out);
  expect(out[0].allowed && out[1].allowed && out[2].allowed && !out[3].allowed,
         "tenant:a gets two per second");

  // Independent decisions handed over together (Store::decide_batch; a Redis
  // store sends them in one script run): each gets its own result, or the
  // error decide() would have thrown for it alone.
  const std::array<Check, 1> tenant_c{{{&per_tenant, "tenant:c"}}};
  const std::array<Check, 1> no_key{{{&per_tenant, ""}}};
  std::vector<ratelimit::BatchDecision> requests(3);
  requests[0].checks = tenant_c;
  requests[1].checks = no_key;
  requests[2].checks = tenant_c;
  for (ratelimit::BatchDecision& r : requests) r.now = clock.now();
  store.decide_batch(requests);
  for (const ratelimit::BatchDecision& d : requests) {
    if (d.error) {
      std::cout << "  a decision of the batch was refused (bad input)\n";
      continue;
    }
    std::cout << "  " << (d.result.allowed ? "allowed" : "429") << '\n';
  }
  expect(requests[0].result.allowed && requests[1].error && requests[2].result.allowed,
         "a bad decision fails alone");

  // Statistics: monotonic counters plus the number of live states.
  const ratelimit::StoreStats before = store.stats();
  // Expired states are dropped lazily; a service also sweeps periodically,
  // e.g. store.start_sweeper(ratelimit::SystemClock::instance(), std::chrono::seconds(10)).
  clock.advance(ratelimit::kMicrosPerHour);
  const std::size_t dropped = store.sweep(clock.now());
  std::cout << "  keys before sweep: " << before.keys << ", dropped: " << dropped
            << ", bytes now: " << store.memory_bytes() << '\n';
}

// ---------------------------------------------------------------------------
// 6. Bad input.
// ---------------------------------------------------------------------------
void bad_input() {
  std::cout << "6. Bad input throws; a denial never does\n";
  MemoryStore store;
  const LimitSpec spec(Algorithm::fixed_window, 10, kMicrosPerSecond);
  int thrown = 0;
  try {
    (void)store.decide_one({&spec, ""}, 1, kStart);  // empty key
  } catch (const ratelimit::InvalidRequest& e) {
    std::cout << "  InvalidRequest: " << e.what() << '\n';
    ++thrown;
  }
  try {
    (void)LimitSpec(Algorithm::token_bucket, 10, kMicrosPerSecond, /*burst=*/0);
  } catch (const ratelimit::InvalidLimitSpec& e) {
    std::cout << "  InvalidLimitSpec: " << e.what() << '\n';
    ++thrown;
  }
  expect(thrown == 2, "both are exceptions");
  expect(ratelimit::parse_algorithm("sliding_log") == Algorithm::sliding_log, "parse by name");
}

}  // namespace

int main() {
  scoped_requests();
  shaping();
  what_if();
  store_extras();
  bad_input();
  return EXIT_SUCCESS;
}
