// `ratelimit bench`: throughput, per-decision time and resident memory per key
// of MemoryStore behind the Limiter facade, against the naive baseline
// (bench/naive_baseline.hpp), under the same conditions: N prepopulated keys,
// uniform random draws, T threads, S seconds, a real clock read per decision.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <latch>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../../bench/naive_baseline.hpp"
#include "../../bench/workload.hpp"
#include "commands.hpp"
#include "ratelimit/limiter.hpp"
#include "ratelimit/memory_store.hpp"

namespace ratelimit::cli {
namespace {

namespace rb = ratelimit::bench;
using SteadyClock = std::chrono::steady_clock;

/// Decisions a worker makes between looks at the stop flag and the deadline.
constexpr std::uint64_t kChunk = 256;
/// Precomputed draws: the next power of two >= 4 * keys, within these bounds
/// (16 bytes each: 16 MiB .. 256 MiB). Cycled through by every thread.
constexpr std::size_t kMinDraws = std::size_t{1} << 20;
constexpr std::size_t kMaxDraws = std::size_t{1} << 24;
/// The limit every run applies, 10,000 per day: generous enough that with a
/// million keys every decision admits (the write path), while each admission
/// keeps a bucket state live for another 8.64 s, so states do not expire
/// (and get dropped) between prepopulation and their next visit.
constexpr std::int64_t kLimit = 10'000;
constexpr Micros kWindow = kMicrosPerDay;

struct alignas(64) WorkerProgress {
  std::atomic<std::uint64_t> decisions{0};
  std::atomic<std::uint64_t> admitted{0};
};

/// Figures of one run (ours or the baseline).
struct RunResult {
  std::uint64_t decisions = 0;
  std::uint64_t admitted = 0;
  double elapsed_s = 0;
  std::size_t rss_before = 0;         ///< before creating the store
  std::size_t rss_prepopulated = 0;   ///< after prepopulating every key
  std::size_t rss_after_run = 0;      ///< after the timed run, store still alive
  std::uint64_t keys_prepopulated = 0;  ///< states held after prepopulating
  std::optional<std::uint64_t> store_keys;
  std::optional<std::size_t> store_memory_bytes;

  [[nodiscard]] double decisions_per_s() const { return elapsed_s > 0 ? static_cast<double>(decisions) / elapsed_s : 0; }
  [[nodiscard]] double ns_per_decision(unsigned threads) const {
    return decisions > 0 ? static_cast<double>(threads) * elapsed_s * 1e9 / static_cast<double>(decisions) : 0;
  }
  [[nodiscard]] double admitted_fraction() const {
    return decisions > 0 ? static_cast<double>(admitted) / static_cast<double>(decisions) : 0;
  }
  [[nodiscard]] static double per_key(std::size_t before, std::size_t after, std::uint64_t keys) {
    return after > before ? static_cast<double>(after - before) / static_cast<double>(keys) : 0.0;
  }
};

/// Live progress on stderr, only when stderr is a terminal.
class Progress {
 public:
  Progress() : tty_(::isatty(STDERR_FILENO) == 1) {}
  void line(const std::string& text) const {
    if (tty_) std::cerr << "\r\033[K" << text << std::flush;
  }
  void clear() const {
    if (tty_) std::cerr << "\r\033[K" << std::flush;
  }
  [[nodiscard]] bool enabled() const noexcept { return tty_; }

 private:
  bool tty_;
};

std::string group_thousands(std::uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string fixed(double v, int precision) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(precision);
  os << v;
  return os.str();
}

std::string rate_text(double per_s) {
  if (per_s >= 1e6) return fixed(per_s / 1e6, 2) + " M/s";
  if (per_s >= 1e3) return fixed(per_s / 1e3, 2) + " k/s";
  return fixed(per_s, 0) + " /s";
}

/// Inserts every key once (cost 1), showing progress now and then.
template <class Decide>
void prepopulate(std::string_view label, std::uint64_t keys, const Progress& progress, Decide decide) {
  for (std::uint64_t i = 0; i < keys; ++i) {
    (void)decide(rb::make_key(i).view());
    if (progress.enabled() && (i & 0xFFFFF) == 0) {
      progress.line(std::string(label) + ": prepopulating " + group_thousands(i) + " / " + group_thousands(keys) + " keys");
    }
  }
}

/// Runs `threads` workers, each calling `decide(key) -> bool` on the draws
/// (starting at evenly spaced offsets) until `seconds` have passed.
template <class Decide>
void timed_run(std::string_view label, const BenchOptions& options, const std::vector<rb::KeySlot>& draws,
               const Progress& progress, RunResult& result, Decide decide) {
  const unsigned threads = options.threads;
  const std::size_t mask = draws.size() - 1;
  const auto duration = std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(options.seconds));
  std::vector<WorkerProgress> counters(threads);
  std::atomic<bool> stop{false};
  std::latch start(static_cast<std::ptrdiff_t>(threads) + 1);
  SteadyClock::time_point deadline{};  // written before `start` releases the workers

  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::size_t pos = draws.size() / threads * t;
      std::uint64_t n = 0;
      std::uint64_t admitted = 0;
      WorkerProgress& mine = counters[t];
      start.arrive_and_wait();
      while (!stop.load(std::memory_order_relaxed)) {
        for (std::uint64_t i = 0; i < kChunk; ++i) {
          admitted += decide(draws[pos & mask].view()) ? 1U : 0U;
          ++pos;
        }
        n += kChunk;
        mine.decisions.store(n, std::memory_order_relaxed);
        if (SteadyClock::now() >= deadline) break;
      }
      mine.admitted.store(admitted, std::memory_order_relaxed);
    });
  }

  const auto t0 = SteadyClock::now();
  deadline = t0 + duration;
  start.arrive_and_wait();

  // Progress ticks until the deadline; then raise the stop flag.
  auto last_tick = t0;
  std::uint64_t last_count = 0;
  for (;;) {
    const auto next = std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(250));
    std::this_thread::sleep_until(next);
    const auto now = SteadyClock::now();
    if (now >= deadline) break;
    if (progress.enabled()) {
      std::uint64_t count = 0;
      for (const auto& c : counters) count += c.decisions.load(std::memory_order_relaxed);
      const double dt = std::chrono::duration<double>(now - last_tick).count();
      const double rate = dt > 0 ? static_cast<double>(count - last_count) / dt : 0;
      progress.line(std::string(label) + ": " + fixed(std::chrono::duration<double>(now - t0).count(), 1) + " / " +
                    fixed(options.seconds, 1) + " s  " + group_thousands(count) + " decisions  " + rate_text(rate));
      last_tick = now;
      last_count = count;
    }
  }
  stop.store(true, std::memory_order_relaxed);
  for (auto& w : workers) w.join();
  const auto t1 = SteadyClock::now();
  progress.clear();

  result.elapsed_s = std::chrono::duration<double>(t1 - t0).count();
  for (const auto& c : counters) {
    result.decisions += c.decisions.load(std::memory_order_relaxed);
    result.admitted += c.admitted.load(std::memory_order_relaxed);
  }
}

RunResult run_ours(const BenchOptions& options, const LimitSpec& spec, const std::vector<rb::KeySlot>& draws,
                   const Progress& progress) {
  RunResult r;
  rb::release_free_memory();
  r.rss_before = rb::resident_bytes();
  {
    auto store = std::make_shared<MemoryStore>();
    Limiter limiter(spec, store);  // SystemClock
    auto decide = [&limiter](std::string_view key) { return limiter.try_acquire(key).allowed; };
    prepopulate("ratelimit", options.keys, progress, decide);
    r.rss_prepopulated = rb::resident_bytes();
    r.keys_prepopulated = store->stats().keys;
    timed_run("ratelimit", options, draws, progress, r, decide);
    r.rss_after_run = rb::resident_bytes();
    r.store_keys = store->stats().keys;
    r.store_memory_bytes = store->memory_bytes();
  }
  rb::release_free_memory();
  return r;
}

RunResult run_baseline(const BenchOptions& options, const LimitSpec& spec, const std::vector<rb::KeySlot>& draws,
                       const Progress& progress) {
  RunResult r;
  rb::release_free_memory();
  r.rss_before = rb::resident_bytes();
  {
    const double window_s = static_cast<double>(spec.window()) / static_cast<double>(kMicrosPerSecond);
    rb::NaiveTokenBucket naive(static_cast<double>(spec.burst()), static_cast<double>(spec.limit()) / window_s);
    const Clock& clock = SystemClock::instance();
    auto decide = [&naive, &clock](std::string_view key) { return naive.try_acquire(key, 1.0, clock.now()); };
    prepopulate("baseline", options.keys, progress, decide);
    r.rss_prepopulated = rb::resident_bytes();
    r.keys_prepopulated = naive.size();
    timed_run("baseline", options, draws, progress, r, decide);
    r.rss_after_run = rb::resident_bytes();
    r.store_keys = naive.size();
  }
  rb::release_free_memory();
  return r;
}

boost::json::object to_json(const RunResult& r, const BenchOptions& options) {
  boost::json::object o;
  o["decisions"] = r.decisions;
  o["elapsed_s"] = r.elapsed_s;
  o["decisions_per_s"] = r.decisions_per_s();
  o["ns_per_decision"] = r.ns_per_decision(options.threads);
  o["bytes_per_key"] = RunResult::per_key(r.rss_before, r.rss_prepopulated, options.keys);
  o["bytes_per_key_after_run"] = RunResult::per_key(r.rss_before, r.rss_after_run, options.keys);
  o["rss_before_bytes"] = r.rss_before;
  o["rss_prepopulated_bytes"] = r.rss_prepopulated;
  o["rss_after_run_bytes"] = r.rss_after_run;
  o["admitted_fraction"] = r.admitted_fraction();
  o["keys_held_prepopulated"] = r.keys_prepopulated;
  if (r.store_keys) o["keys_held"] = *r.store_keys;
  if (r.store_memory_bytes) o["store_memory_bytes"] = *r.store_memory_bytes;
  return o;
}

void print_table(const BenchOptions& options, const LimitSpec& spec, std::size_t draw_count, const RunResult& ours,
                 const std::optional<RunResult>& base) {
  std::cout << "ratelimit bench: " << describe(spec) << ", " << group_thousands(options.keys)
            << " keys drawn uniformly (" << group_thousands(draw_count) << " precomputed draws, cycled), "
            << options.threads << " thread" << (options.threads == 1 ? "" : "s") << " x " << fixed(options.seconds, 1)
            << " s, system clock read per decision\n";
  std::cout << "  ours: MemoryStore through Limiter::try_acquire";
  if (base) std::cout << "; baseline: one mutex + std::unordered_map token bucket (same capacity and rate)";
  std::cout << "\n\n";

  constexpr int kName = 26;
  constexpr int kCol = 18;
  auto row = [&](const std::string& name, const std::string& a, const std::string& b) {
    std::string line = "  " + name;
    line.resize(kName, ' ');
    std::string ca = a;
    if (ca.size() < kCol) ca.insert(0, kCol - ca.size(), ' ');
    line += ca;
    if (base) {
      std::string cb = b;
      if (cb.size() < kCol) cb.insert(0, kCol - cb.size(), ' ');
      line += cb;
    }
    std::cout << line << '\n';
  };
  const RunResult empty;
  const RunResult& b = base ? *base : empty;
  const unsigned t = options.threads;
  row("", "ours", "baseline");
  row("decisions/s", group_thousands(static_cast<std::uint64_t>(ours.decisions_per_s())),
      group_thousands(static_cast<std::uint64_t>(b.decisions_per_s())));
  row("ns per decision (thread)", fixed(ours.ns_per_decision(t), 1), fixed(b.ns_per_decision(t), 1));
  row("resident bytes per key", fixed(RunResult::per_key(ours.rss_before, ours.rss_prepopulated, options.keys), 1),
      fixed(RunResult::per_key(b.rss_before, b.rss_prepopulated, options.keys), 1));
  row("  ... after the run", fixed(RunResult::per_key(ours.rss_before, ours.rss_after_run, options.keys), 1),
      fixed(RunResult::per_key(b.rss_before, b.rss_after_run, options.keys), 1));
  row("admitted", fixed(100.0 * ours.admitted_fraction(), 2) + " %", fixed(100.0 * b.admitted_fraction(), 2) + " %");
  row("keys held, prepopulated", group_thousands(ours.keys_prepopulated), group_thousands(b.keys_prepopulated));
  row("keys held after the run", group_thousands(ours.store_keys.value_or(0)), group_thousands(b.store_keys.value_or(0)));
  row("decisions", group_thousands(ours.decisions), group_thousands(b.decisions));
  row("elapsed s", fixed(ours.elapsed_s, 3), fixed(b.elapsed_s, 3));
  if (base) {
    const double ratio = b.decisions_per_s() > 0 ? ours.decisions_per_s() / b.decisions_per_s() : 0;
    std::cout << "\n  ours / baseline: " << fixed(ratio, 2) << "x decisions/s\n";
  }
}

}  // namespace

int run_bench(const BenchOptions& options) {
  // Validate everything before any work; parse_algorithm throws with the valid names.
  const Algorithm algorithm = parse_algorithm(options.algorithm);
  const LimitSpec spec(algorithm, kLimit, kWindow);
  if (options.keys == 0) throw std::invalid_argument("--keys must be at least 1");
  if (options.threads == 0) throw std::invalid_argument("--threads must be at least 1");
  if (!(options.seconds > 0)) throw std::invalid_argument("--seconds must be positive");

  const Progress progress;
  progress.line("generating draws");
  std::size_t draw_count = kMinDraws;
  while (draw_count < kMaxDraws && draw_count / 4 < options.keys) draw_count *= 2;
  const std::vector<rb::KeySlot> draws = rb::make_draws(options.keys, draw_count, 0x5eed);

  const RunResult ours = run_ours(options, spec, draws, progress);
  std::optional<RunResult> base;
  if (options.baseline) base = run_baseline(options, spec, draws, progress);
  progress.clear();

  if (options.json) {
    boost::json::object o;
    o["algorithm"] = std::string(to_string(algorithm));
    o["limit"] = spec.limit();
    o["window_us"] = spec.window();
    o["burst"] = spec.burst();
    o["keys"] = options.keys;
    o["threads"] = options.threads;
    o["seconds"] = options.seconds;
    o["draws"] = draw_count;
    o["ours"] = to_json(ours, options);
    if (base) {
      o["baseline"] = to_json(*base, options);
      o["ratio_decisions_per_s"] = base->decisions_per_s() > 0 ? ours.decisions_per_s() / base->decisions_per_s() : 0.0;
    } else {
      o["baseline"] = nullptr;
      o["ratio_decisions_per_s"] = nullptr;
    }
    std::cout << boost::json::serialize(o) << '\n';
  } else {
    print_table(options, spec, draw_count, ours, base);
  }
  return 0;
}

}  // namespace ratelimit::cli
