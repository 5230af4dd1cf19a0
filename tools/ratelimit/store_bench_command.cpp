// `ratelimit bench --store URL`: decisions/s and latency percentiles of a
// shared store (Redis) under N concurrent callers, each a thread making one
// decision at a time through the full client path (open_store: RedisStore
// behind GuardedStore unless failure=none).

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "ratelimit/guarded_store.hpp"
#include "ratelimit/redis_store.hpp"
#include "ratelimit/store_factory.hpp"

namespace ratelimit::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Worker {
  std::vector<std::uint32_t> latency_ns;  // one sample per decision
  std::uint64_t admitted = 0;
  std::uint64_t degraded = 0;
  std::uint64_t failed = 0;
};

double percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return static_cast<double>(sorted[i]) / 1000.0;  // µs
}

}  // namespace

int run_store_bench(const BenchOptions& options) {
  std::unique_ptr<Store> store = open_store(options.store);
  const LimitSpec spec = LimitSpec(parse_algorithm(options.algorithm), 1'000'000'000, kMicrosPerDay);
  const unsigned threads = options.threads;
  const std::uint64_t keys = options.keys;
  const unsigned checks_per_decision = options.checks;

  std::vector<Worker> workers(threads);
  // 0: warming up (connections, SCRIPT LOAD; not measured), 1: measuring, 2: stop.
  std::atomic<int> phase{0};
  std::latch ready(threads + 1);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Worker& w = workers[t];
      w.latency_ns.reserve(1 << 20);
      std::mt19937_64 rng(0x5eed + t);
      std::uniform_int_distribution<std::uint64_t> pick(0, keys - 1);
      std::vector<std::string> names(checks_per_decision);
      std::vector<Check> checks(checks_per_decision);
      ready.arrive_and_wait();
      int now_phase = 0;
      while ((now_phase = phase.load(std::memory_order_relaxed)) != 2) {
        const std::uint64_t k = pick(rng);
        for (unsigned c = 0; c < checks_per_decision; ++c) {
          // One entity's checks share a hash tag, as a Cluster deployment would.
          names[c] = "bench:{" + std::to_string(k) + "}:" + std::to_string(c);
          checks[c] = Check{&spec, names[c]};
        }
        const auto start = SteadyClock::now();
        try {
          const Decision d = store->decide(checks, 1, SystemClock::instance().now());
          w.admitted += d.allowed ? 1 : 0;
          w.degraded += d.degraded ? 1 : 0;
        } catch (const StoreUnavailable&) {
          ++w.failed;
        }
        if (now_phase == 0) continue;
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - start).count();
        w.latency_ns.push_back(static_cast<std::uint32_t>(std::min<long long>(ns, UINT32_MAX)));
      }
    });
  }
  ready.arrive_and_wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto begin = SteadyClock::now();
  phase.store(1);
  std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
  phase.store(2);
  const auto end = SteadyClock::now();
  for (auto& th : pool) th.join();

  std::vector<std::uint32_t> all;
  std::uint64_t admitted = 0, degraded = 0, failed = 0;
  for (const Worker& w : workers) {
    all.insert(all.end(), w.latency_ns.begin(), w.latency_ns.end());
    admitted += w.admitted;
    degraded += w.degraded;
    failed += w.failed;
  }
  const double elapsed = std::chrono::duration<double>(end - begin).count();
  std::sort(all.begin(), all.end());
  const double rate = static_cast<double>(all.size()) / elapsed;
  if (options.json) {
    boost::json::object o;
    o["store"] = options.store;
    o["threads"] = threads;
    o["checks"] = checks_per_decision;
    o["decisions"] = all.size();
    o["decisions_per_s"] = rate;
    o["p50_us"] = percentile(all, 0.50);
    o["p90_us"] = percentile(all, 0.90);
    o["p99_us"] = percentile(all, 0.99);
    o["p999_us"] = percentile(all, 0.999);
    o["admitted"] = admitted;
    o["degraded"] = degraded;
    o["failed"] = failed;
    std::cout << boost::json::serialize(o) << '\n';
  } else {
    std::cout << "store " << options.store << ", " << threads << " callers, " << checks_per_decision
              << " check(s) per decision, " << options.algorithm << "\n"
              << "  decisions/s  " << static_cast<std::uint64_t>(rate) << "\n"
              << "  latency µs   p50 " << percentile(all, 0.5) << "  p90 " << percentile(all, 0.9) << "  p99 "
              << percentile(all, 0.99) << "  p99.9 " << percentile(all, 0.999) << "\n"
              << "  admitted " << admitted << ", degraded " << degraded << ", failed " << failed << "\n";
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace ratelimit::cli
