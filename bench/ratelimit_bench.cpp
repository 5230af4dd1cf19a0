// ratelimit_bench: Google Benchmark program for the library's hot paths.
// See bench/README.md for what each benchmark measures and its target.

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "naive_baseline.hpp"
#include "ratelimit/algorithms.hpp"
#include "ratelimit/limiter.hpp"
#include "ratelimit/memory_store.hpp"
#include "workload.hpp"

namespace {

using namespace ratelimit;
namespace rb = ratelimit::bench;

/// Keys in the "1M" benchmarks.
constexpr std::uint64_t kKeys = 1'000'000;
/// Precomputed uniform draws (16 bytes each: 64 MiB), replayed cyclically.
constexpr std::size_t kDraws = std::size_t{1} << 22;
constexpr std::size_t kDrawMask = kDraws - 1;
/// Decisions per decide_many call in the batch benchmark.
constexpr std::size_t kBatch = 64;
/// A fixed instant (2023-11-14) for benchmarks that drive time themselves.
constexpr Micros kBaseTime = 1'700'000'000'000'000;

const std::vector<rb::KeySlot>& draws() {
  static const std::vector<rb::KeySlot> d = rb::make_draws(kKeys, kDraws, 0x5eed);
  return d;
}

/// Where thread `t` of `n` starts reading the draws, so threads do not walk
/// the same sequence in lockstep.
std::size_t start_position(const benchmark::State& state) {
  return static_cast<std::size_t>(state.thread_index()) * (kDraws / static_cast<std::size_t>(state.threads()));
}

/// Reports this thread's share of the figures. Counters are summed over
/// threads and then finished by Google Benchmark:
/// - decisions/s: total decisions of all threads per second of elapsed time;
/// - time/decision: elapsed time * threads / total decisions, i.e. the time
///   one decision takes on one thread (the console shows it with its unit,
///   e.g. "43.1ns"; JSON output holds seconds);
/// - admitted: fraction of decisions that admitted.
void report(benchmark::State& state, std::uint64_t decisions, std::uint64_t admitted) {
  using benchmark::Counter;
  const double d = static_cast<double>(decisions);
  state.counters["decisions/s"] = Counter(d, Counter::kIsRate);
  state.counters["time/decision"] = Counter(d, Counter::kIsRate | Counter::kAvgThreads | Counter::kInvert);
  // Scaled so that summing over threads and dividing by total iterations
  // gives admitted / decisions even when one iteration is a batch.
  const double per_iteration = decisions > 0 ? static_cast<double>(state.iterations()) / d : 0.0;
  state.counters["admitted"] = Counter(static_cast<double>(admitted) * per_iteration, Counter::kAvgIterations);
}

/// States the store dropped because they had expired (StoreStats::
/// expired_dropped), per decision, over the timed loop: a dropped state that
/// is requested again is re-inserted, the store's slow path. Thread 0 reads
/// the store's counters before the loop and after it (when every thread has
/// left the loop); the other threads report 0.
class DroppedCounter {
 public:
  DroppedCounter(const benchmark::State& state, const Store& store)
      : store_(store), active_(state.thread_index() == 0), before_(active_ ? store.stats().expired_dropped : 0) {}
  void report(benchmark::State& state, std::uint64_t decisions) const {
    double value = 0;
    if (active_ && decisions > 0) {
      const std::uint64_t dropped = store_.stats().expired_dropped - before_;
      value = static_cast<double>(dropped) * static_cast<double>(state.iterations()) / static_cast<double>(decisions);
    }
    state.counters["dropped/decision"] = benchmark::Counter(value, benchmark::Counter::kAvgIterations);
  }

 private:
  const Store& store_;
  bool active_;
  std::uint64_t before_;
};

// ---------------------------------------------------------------------------
// Shared, prepopulated environments. Building one (1M keys) takes a while, so
// it is built once and reused by every run of the benchmarks that ask for the
// same tag (Google Benchmark calls a benchmark function several times, and
// once per thread count). Only one environment is alive at a time, which
// keeps peak memory at one store. Every thread of a run calls `get`; the
// first builds, the others wait on the mutex. All of this happens before the
// timed loop.

class EnvCache {
 public:
  template <class Env, class Make>
  static Env& get(std::string_view tag, Make make) {
    std::lock_guard lock(mu_);
    if (tag_ != tag) {
      env_.reset();
      tag_.clear();
      rb::release_free_memory();
      env_ = make();
      tag_ = tag;
    }
    return *static_cast<Env*>(env_.get());
  }

 private:
  static inline std::mutex mu_;
  static inline std::string tag_;
  static inline std::shared_ptr<void> env_;
};

/// Token bucket, 10,000 per day, for the 1M-key benchmarks: every decision
/// admits (the write path, the expensive one) for the whole program, and
/// each admission keeps the state live for another 8.64 s, so states do not
/// expire (and get dropped) between prepopulation and their next visit, nor
/// between visits.
LimitSpec uniform_spec() { return LimitSpec(Algorithm::token_bucket, 10'000, kMicrosPerDay); }

/// MemoryStore with 1M keys behind the Limiter facade on the system clock.
struct FacadeEnv {
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
  Limiter limiter{uniform_spec(), store};
  FacadeEnv() {
    for (std::uint64_t i = 0; i < kKeys; ++i) (void)limiter.try_acquire(rb::make_key(i).view());
  }
};
FacadeEnv& facade_env() {
  return EnvCache::get<FacadeEnv>("facade_1M", [] { return std::make_shared<FacadeEnv>(); });
}

/// Three limits per identifier, each a token bucket under its own key
/// ("s:user:000042", "m:...", "h:..."): 10/s, 100/min, 1,000/h. 3M states.
/// Each admission keeps a per-second state live for 0.1 s, a per-minute one
/// for 0.6 s and a per-hour one for 3.6 s: with a million identifiers the
/// per-second states expire between visits, as they would in production.
struct MultiEnv {
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
  LimitSpec per_second{Algorithm::token_bucket, 10, kMicrosPerSecond};
  LimitSpec per_minute{Algorithm::token_bucket, 100, kMicrosPerMinute};
  LimitSpec per_hour{Algorithm::token_bucket, 1'000, kMicrosPerHour};
  MultiEnv();
};

/// The three prefixed forms of one user key, rebuilt in place per draw.
class PrefixedKeys {
 public:
  PrefixedKeys() {
    for (std::size_t i = 0; i < buf_.size(); ++i) {
      buf_[i][0] = kPrefixes[i];
      buf_[i][1] = ':';
    }
  }
  void set(const rb::KeySlot& k) noexcept {
    for (auto& b : buf_) std::memcpy(b.data() + 2, k.bytes.data(), 14);  // keys <= 13 bytes
    size_ = std::size_t{2} + k.size;
  }
  [[nodiscard]] std::string_view operator[](std::size_t i) const noexcept { return {buf_[i].data(), size_}; }

 private:
  static constexpr std::array<char, 3> kPrefixes = {'s', 'm', 'h'};
  std::array<std::array<char, 16>, 3> buf_{};
  std::size_t size_ = 0;
};

MultiEnv::MultiEnv() {
  PrefixedKeys keys;
  const Clock& clock = SystemClock::instance();
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    keys.set(rb::make_key(i));
    const std::array<Check, 3> checks{Check{&per_second, keys[0]}, Check{&per_minute, keys[1]},
                                      Check{&per_hour, keys[2]}};
    (void)store->decide(checks, 1, clock.now());
  }
}
MultiEnv& multi_env() {
  return EnvCache::get<MultiEnv>("multi_1M", [] { return std::make_shared<MultiEnv>(); });
}

/// The naive baseline with the same 1M keys and the same limit as FacadeEnv.
struct NaiveEnv {
  rb::NaiveTokenBucket bucket{10'000.0, 10'000.0 / 86'400.0};
  NaiveEnv() {
    const Clock& clock = SystemClock::instance();
    for (std::uint64_t i = 0; i < kKeys; ++i) (void)bucket.try_acquire(rb::make_key(i).view(), 1.0, clock.now());
  }
};
NaiveEnv& naive_env() {
  return EnvCache::get<NaiveEnv>("naive_1M", [] { return std::make_shared<NaiveEnv>(); });
}

// ---------------------------------------------------------------------------
// Clock

void BM_Clock_SystemClock(benchmark::State& state) {
  const Clock& clock = SystemClock::instance();
  for (auto _ : state) benchmark::DoNotOptimize(clock.now());
}
BENCHMARK(BM_Clock_SystemClock);

// ---------------------------------------------------------------------------
// Pure step functions: one state, time passed in. The limit is 1,000 per
// 2 ms and time advances 1 µs per decision, twice the sustainable rate, so
// after the first burst about half the decisions admit and half deny.

LimitSpec step_spec(Algorithm a) { return LimitSpec(a, 1'000, 2'000); }

template <class State, class StepFn>
void run_step(benchmark::State& state, Algorithm algorithm, State s, StepFn step) {
  const LimitSpec spec = step_spec(algorithm);
  Micros now = kBaseTime;
  std::uint64_t admitted = 0;
  for (auto _ : state) {
    ++now;
    const auto result = step(spec, s, now, std::int64_t{1});
    if (result.decision.allowed) {
      s = result.next;  // stores commit only admitted requests
      ++admitted;
    }
    benchmark::DoNotOptimize(result.decision);
  }
  report(state, static_cast<std::uint64_t>(state.iterations()), admitted);
}

void BM_Step_token_bucket(benchmark::State& state) {
  namespace a = algo::token_bucket;
  run_step(state, Algorithm::token_bucket, a::fresh(kBaseTime),
           [](const LimitSpec& sp, const a::State& s, Micros n, std::int64_t c) { return a::step(sp, s, n, c); });
}
void BM_Step_gcra(benchmark::State& state) {
  namespace a = algo::gcra;
  run_step(state, Algorithm::gcra, a::fresh(kBaseTime),
           [](const LimitSpec& sp, const a::State& s, Micros n, std::int64_t c) { return a::step(sp, s, n, c); });
}
void BM_Step_leaky_bucket(benchmark::State& state) {
  namespace a = algo::leaky_bucket;
  run_step(state, Algorithm::leaky_bucket, a::fresh(kBaseTime),
           [](const LimitSpec& sp, const a::State& s, Micros n, std::int64_t c) { return a::step(sp, s, n, c); });
}
void BM_Step_fixed_window(benchmark::State& state) {
  namespace a = algo::fixed_window;
  run_step(state, Algorithm::fixed_window, a::fresh(step_spec(Algorithm::fixed_window), kBaseTime),
           [](const LimitSpec& sp, const a::State& s, Micros n, std::int64_t c) { return a::step(sp, s, n, c); });
}
void BM_Step_sliding_window(benchmark::State& state) {
  namespace a = algo::sliding_window;
  run_step(state, Algorithm::sliding_window, a::fresh(step_spec(Algorithm::sliding_window), kBaseTime),
           [](const LimitSpec& sp, const a::State& s, Micros n, std::int64_t c) { return a::step(sp, s, n, c); });
}
/// sliding_log updates its state in place (up to `limit` entries).
void BM_Step_sliding_log(benchmark::State& state) {
  namespace a = algo::sliding_log;
  const LimitSpec spec = step_spec(Algorithm::sliding_log);
  a::State s;
  Micros now = kBaseTime;
  std::uint64_t admitted = 0;
  for (auto _ : state) {
    ++now;
    const Decision d = a::step(spec, s, now, 1);
    admitted += d.allowed ? 1U : 0U;
    benchmark::DoNotOptimize(d);
  }
  report(state, static_cast<std::uint64_t>(state.iterations()), admitted);
}
BENCHMARK(BM_Step_token_bucket);
BENCHMARK(BM_Step_gcra);
BENCHMARK(BM_Step_leaky_bucket);
BENCHMARK(BM_Step_fixed_window);
BENCHMARK(BM_Step_sliding_window);
BENCHMARK(BM_Step_sliding_log);

// ---------------------------------------------------------------------------
// The facade on one key: clock read + store lookup + step + commit.
// 10^9 per hour (burst 10^9) admits every decision (the write path), and
// the state stays live: each admission adds 3.6 µs of deficit.

void BM_Limiter_OneKey(benchmark::State& state) {
  Limiter limiter(LimitSpec(Algorithm::token_bucket, 1'000'000'000, kMicrosPerHour),
                  std::make_shared<MemoryStore>());
  std::uint64_t admitted = 0;
  for (auto _ : state) admitted += limiter.try_acquire("user:000042").allowed ? 1U : 0U;
  report(state, static_cast<std::uint64_t>(state.iterations()), admitted);
}
BENCHMARK(BM_Limiter_OneKey);

// ---------------------------------------------------------------------------
// Every thread on one key, decide_one at a precomputed instant: each thread
// keeps its own clock that advances 1 µs per decision. Token bucket at
// 0.5 units per µs, burst 100: one thread admits about half its decisions,
// so both the commit (compare-and-swap) and the deny path are exercised.

struct HotKeyEnv {
  MemoryStore store;
  LimitSpec spec{Algorithm::token_bucket, 500'000, kMicrosPerSecond, 100};
  /// Where the next run's clocks start: runs reuse the state, whose `last`
  /// must not be ahead of the next run's instants (that would deny all).
  std::atomic<Micros> next_start{kBaseTime};
};

void BM_Store_HotKey(benchmark::State& state) {
  auto& env = EnvCache::get<HotKeyEnv>("hot_key", [] { return std::make_shared<HotKeyEnv>(); });
  const Check check{&env.spec, "user:000042"};
  const DroppedCounter dropped(state, env.store);
  Micros now = env.next_start.load();
  std::uint64_t admitted = 0;
  for (auto _ : state) {
    ++now;
    admitted += env.store.decide_one(check, 1, now).allowed ? 1U : 0U;
  }
  // All threads have left the loop (end barrier) before any run starts again.
  Micros seen = env.next_start.load();
  while (seen < now && !env.next_start.compare_exchange_weak(seen, now)) {
  }
  state.SetItemsProcessed(state.iterations());
  report(state, static_cast<std::uint64_t>(state.iterations()), admitted);
  dropped.report(state, static_cast<std::uint64_t>(state.iterations()));
}
BENCHMARK(BM_Store_HotKey)->Threads(1)->Threads(2)->UseRealTime();

// ---------------------------------------------------------------------------
// 1M keys, uniform random draws, system clock read per decision.

void BM_Store_UniformKeys_1M(benchmark::State& state) {
  FacadeEnv& env = facade_env();
  const auto& d = draws();
  const DroppedCounter dropped(state, *env.store);
  std::size_t pos = start_position(state);
  std::uint64_t admitted = 0;
  for (auto _ : state) {
    admitted += env.limiter.try_acquire(d[pos & kDrawMask].view()).allowed ? 1U : 0U;
    ++pos;
  }
  report(state, static_cast<std::uint64_t>(state.iterations()), admitted);
  dropped.report(state, static_cast<std::uint64_t>(state.iterations()));
}
BENCHMARK(BM_Store_UniformKeys_1M)->Threads(1)->Threads(2)->UseRealTime();

/// The same store and draws through MemoryStore::decide_many, 64 keys per
/// call, one clock read per call. One iteration is one batch.
void BM_Store_UniformKeys_1M_Batch(benchmark::State& state) {
  FacadeEnv& env = facade_env();
  const auto& d = draws();
  const LimitSpec* spec = &env.limiter.spec();
  const Clock& clock = SystemClock::instance();
  std::array<Check, kBatch> checks{};
  std::array<Decision, kBatch> out{};
  const DroppedCounter dropped(state, *env.store);
  std::size_t pos = start_position(state);
  std::uint64_t admitted = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) checks[i] = Check{spec, d[(pos + i) & kDrawMask].view()};
    pos += kBatch;
    env.store->decide_many(checks, 1, clock.now(), out);
    for (const Decision& o : out) admitted += o.allowed ? 1U : 0U;
  }
  report(state, static_cast<std::uint64_t>(state.iterations()) * kBatch, admitted);
  dropped.report(state, static_cast<std::uint64_t>(state.iterations()) * kBatch);
}
BENCHMARK(BM_Store_UniformKeys_1M_Batch)->Threads(1)->Threads(2)->UseRealTime();

/// Decisions on the multi-limit store, each over the checks that
/// `make_checks(env, keys)` returns for the drawn identifier.
template <class MakeChecks>
void run_multi_env(benchmark::State& state, MakeChecks&& make_checks) {
  MultiEnv& env = multi_env();
  const auto& d = draws();
  const Clock& clock = SystemClock::instance();
  PrefixedKeys keys;
  const DroppedCounter dropped(state, *env.store);
  std::size_t pos = start_position(state);
  std::uint64_t admitted = 0;
  for (auto _ : state) {
    keys.set(d[pos & kDrawMask]);
    ++pos;
    const auto checks = make_checks(env, keys);
    admitted += env.store->decide(checks, 1, clock.now()).allowed ? 1U : 0U;
  }
  report(state, static_cast<std::uint64_t>(state.iterations()), admitted);
  dropped.report(state, static_cast<std::uint64_t>(state.iterations()));
}

/// One check per decision: the per-second limit alone, on the store that
/// also holds the per-minute and per-hour states (same keys as ThreeLimits).
void BM_Store_OneLimit(benchmark::State& state) {
  run_multi_env(state, [](const MultiEnv& env, const PrefixedKeys& keys) {
    return std::array<Check, 1>{Check{&env.per_second, keys[0]}};
  });
}
BENCHMARK(BM_Store_OneLimit)->UseRealTime();

/// One atomic decision over three checks: per-second, per-minute, per-hour.
void BM_Store_ThreeLimits(benchmark::State& state) {
  run_multi_env(state, [](const MultiEnv& env, const PrefixedKeys& keys) {
    return std::array<Check, 3>{Check{&env.per_second, keys[0]}, Check{&env.per_minute, keys[1]},
                                Check{&env.per_hour, keys[2]}};
  });
}
BENCHMARK(BM_Store_ThreeLimits)->UseRealTime();

// ---------------------------------------------------------------------------
// Keys revisited round-robin, one thread, `decide` at an instant the
// benchmark advances by 1 µs per decision (no clock read). Each run builds a
// fresh store and gives every key one decision before timing. Token bucket:
// - expiring: 1,000,000/s, so an admission keeps a state live for 1 µs and
//   every state has refilled (expired: equal to an absent key) by the time
//   its key comes back. Every decision takes the new-key path;
// - live: 1,000/h, so an admission keeps a state live for 3.6 s and every
//   key is found live (the lookup path), all decisions admitting.
// Single check over 100,000 keys; the five-check variants decide atomically
// over five keys ("a:user:…" to "e:user:…") of 10,000 identifiers.

constexpr std::size_t kRoundRobinKeys = 100'000;
constexpr std::size_t kRoundRobinUsers = 10'000;
constexpr std::size_t kChecksPerUser = 5;

LimitSpec expiring_spec() { return LimitSpec(Algorithm::token_bucket, 1'000'000, kMicrosPerSecond); }
LimitSpec live_spec() { return LimitSpec(Algorithm::token_bucket, 1'000, kMicrosPerHour); }

void run_round_robin(benchmark::State& state, const LimitSpec& spec, std::size_t users,
                     std::size_t checks_per_user) {
  std::vector<std::string> keys;
  keys.reserve(users * checks_per_user);
  for (std::size_t u = 0; u < users; ++u) {
    for (std::size_t c = 0; c < checks_per_user; ++c) {
      std::string key = checks_per_user == 1 ? std::string() : std::string{static_cast<char>('a' + c), ':'};
      key += rb::make_key(u).view();
      keys.push_back(std::move(key));
    }
  }
  std::vector<Check> checks;
  checks.reserve(keys.size());
  for (const std::string& k : keys) checks.push_back(Check{&spec, k});
  MemoryStore store;
  Micros now = kBaseTime;
  const auto decide = [&](std::size_t user) {
    ++now;
    return store.decide(std::span<const Check>(checks).subspan(user * checks_per_user, checks_per_user), 1, now);
  };
  for (std::size_t u = 0; u < users; ++u) (void)decide(u);
  const DroppedCounter dropped(state, store);
  std::size_t user = 0;
  std::uint64_t admitted = 0;
  for (auto _ : state) {
    admitted += decide(user).allowed ? 1U : 0U;
    if (++user == users) user = 0;
  }
  report(state, static_cast<std::uint64_t>(state.iterations()), admitted);
  dropped.report(state, static_cast<std::uint64_t>(state.iterations()));
}

void BM_MemoryStore_ExpiringKeys(benchmark::State& state) {
  run_round_robin(state, expiring_spec(), kRoundRobinKeys, 1);
}
BENCHMARK(BM_MemoryStore_ExpiringKeys);

void BM_MemoryStore_LiveKeys(benchmark::State& state) {
  run_round_robin(state, live_spec(), kRoundRobinKeys, 1);
}
BENCHMARK(BM_MemoryStore_LiveKeys);

void BM_MemoryStore_ExpiringKeys_5Checks(benchmark::State& state) {
  run_round_robin(state, expiring_spec(), kRoundRobinUsers, kChecksPerUser);
}
BENCHMARK(BM_MemoryStore_ExpiringKeys_5Checks);

void BM_MemoryStore_LiveKeys_5Checks(benchmark::State& state) {
  run_round_robin(state, live_spec(), kRoundRobinUsers, kChecksPerUser);
}
BENCHMARK(BM_MemoryStore_LiveKeys_5Checks);

// ---------------------------------------------------------------------------
// The naive baseline under the conditions of BM_Store_UniformKeys_1M.

void BM_Naive_UniformKeys_1M(benchmark::State& state) {
  NaiveEnv& env = naive_env();
  const auto& d = draws();
  const Clock& clock = SystemClock::instance();
  std::size_t pos = start_position(state);
  std::uint64_t admitted = 0;
  for (auto _ : state) {
    admitted += env.bucket.try_acquire(d[pos & kDrawMask].view(), 1.0, clock.now()) ? 1U : 0U;
    ++pos;
  }
  report(state, static_cast<std::uint64_t>(state.iterations()), admitted);
}
BENCHMARK(BM_Naive_UniformKeys_1M)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
