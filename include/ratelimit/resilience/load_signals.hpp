#pragma once
/// @file resilience/load_signals.hpp
/// What "load" means to load-based limits: host CPU and memory read from
/// /proc, and error rate and queue depth that the application feeds in.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ratelimit/time.hpp"

namespace ratelimit {

/// One reading of the signals LoadBasedLimits reacts to. Plain value.
struct LoadSignals {
  double cpu = 0;          ///< Host CPU busy fraction, 0 .. 1.
  double memory = 0;       ///< Host memory in use (1 - MemAvailable / MemTotal), 0 .. 1.
  double error_rate = 0;   ///< Share of recent requests that failed, 0 .. 1.
  double queue_depth = 0;  ///< Work waiting (requests, jobs), in items; >= 0.
  friend bool operator==(const LoadSignals&, const LoadSignals&) = default;
};

/// A /proc file that could not be read or did not say what it should. The
/// message names the file and the problem ("/proc/meminfo: no MemTotal line").
class ProcReadError : public std::runtime_error {
 public:
  ProcReadError(std::string file, const std::string& problem);
  /// The path (or, from the parsers, the name) of the file at fault.
  [[nodiscard]] const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
};

/// Parsers of the three /proc files, separated from the I/O so they can be
/// tested (and fuzzed) on any text. Each takes the file's contents and the
/// name to put in error messages, and throws ProcReadError when the text is
/// not what the kernel writes (never crashes, on any bytes).
namespace proc {

/// Cumulative CPU time of the host, in clock ticks, from the first ("cpu ")
/// line of /proc/stat.
struct CpuTimes {
  std::uint64_t busy = 0;   ///< Every column except idle and iowait.
  std::uint64_t total = 0;  ///< user+nice+system+idle+iowait+irq+softirq+steal.
  friend bool operator==(const CpuTimes&, const CpuTimes&) = default;
};

/// Memory figures of /proc/meminfo, in KiB.
struct MemInfo {
  std::uint64_t total_kib = 0;
  /// MemAvailable; on kernels before 3.14, which lack it, MemFree + Buffers +
  /// Cached (the estimate the kernel's own field replaced).
  std::uint64_t available_kib = 0;
  friend bool operator==(const MemInfo&, const MemInfo&) = default;
};

/// Needs the "cpu" line with at least the four columns every kernel writes
/// (user nice system idle); guest columns are ignored (already in user).
[[nodiscard]] CpuTimes parse_stat(std::string_view text, const std::string& file = "/proc/stat");
/// Needs MemTotal (> 0) and MemAvailable (or the fallback fields); an
/// available figure above the total is an error.
[[nodiscard]] MemInfo parse_meminfo(std::string_view text,
                                    const std::string& file = "/proc/meminfo");
/// The VmRSS line of /proc/<pid>/status, in bytes.
[[nodiscard]] std::uint64_t parse_status_rss(std::string_view text,
                                             const std::string& file = "/proc/self/status");
/// Busy share of the ticks between two readings, 0 .. 1. nullopt when no
/// tick elapsed or the counters went backwards (a reset; no usable figure).
[[nodiscard]] std::optional<double> busy_fraction(const CpuTimes& before,
                                                  const CpuTimes& after) noexcept;

}  // namespace proc

/// Reads this host's CPU and memory use from /proc.
///
/// The CPU figure is the busy share of the ticks between two readings of
/// /proc/stat: the previous `sample()` and this one. The first sample has no
/// previous reading and reports the average since boot; a sample with no
/// tick elapsed since the previous one (or counters that went backwards)
/// repeats the previous CPU figure.
///
/// `proc_root` (default "/proc") is where the files are read, so tests point
/// it at fixture directories. Thread-safe (one mutex around the previous
/// reading). Throws ProcReadError, naming the file, when a file is missing,
/// unreadable or malformed; the previous reading is then kept.
class ProcLoadSampler {
 public:
  /// One sample: host CPU and memory fractions, each 0 .. 1.
  struct Sample {
    double cpu = 0;
    double memory = 0;
  };

  explicit ProcLoadSampler(std::string proc_root = "/proc");

  /// Reads <root>/stat and <root>/meminfo.
  [[nodiscard]] Sample sample();
  /// This process's resident set size in bytes, from <root>/self/status.
  [[nodiscard]] std::uint64_t rss_bytes() const;
  /// `base` with cpu and memory replaced by a fresh sample().
  [[nodiscard]] LoadSignals fill(LoadSignals base);

  [[nodiscard]] const std::string& proc_root() const noexcept { return root_; }

 private:
  std::string root_;
  std::mutex mu_;
  std::optional<proc::CpuTimes> previous_;  // Guarded by mu_.
  double last_cpu_ = 0;                     // Guarded by mu_.
};

/// Settings of LoadFeed's error-rate window.
struct LoadFeedConfig {
  /// Length of one interval, µs (> 0). The window is `intervals` of them.
  Micros interval = 10 * kMicrosPerSecond;
  /// Intervals in the window, 1 .. 1000: the window slides one interval at a
  /// time, so a burst of errors ages out within interval × intervals.
  int intervals = 6;
  /// A window with fewer outcomes than this counts the missing ones as
  /// successes, so one early error does not read as a 100% error rate. >= 1.
  std::uint64_t min_samples = 10;
};

/// The signals only the application knows: its error rate and queue depth.
///
/// The error rate comes from one of two sources, the most recent winning:
/// `set_error_rate(x)` fixes it at x (and clears the window); `record_success`
/// and `record_error` count outcomes in a sliding window, and the rate is
/// errors / max(outcomes in the window, min_samples). When the window holds
/// no outcome the last fixed value (0 at first) is reported.
///
/// Thread-safe. Throws std::invalid_argument, naming the field, for a bad
/// config or a value out of range.
class LoadFeed {
 public:
  explicit LoadFeed(LoadFeedConfig config = {}, std::shared_ptr<const Clock> clock = nullptr);
  ~LoadFeed();
  LoadFeed(const LoadFeed&) = delete;
  LoadFeed& operator=(const LoadFeed&) = delete;

  /// Fixes the error rate (0 .. 1) and clears the recorded outcomes.
  void set_error_rate(double rate);
  /// Sets the queue depth (items, >= 0, finite).
  void set_queue_depth(double depth);
  /// Counts one request outcome in the current interval.
  void record_success();
  void record_error();

  /// The error rate now (see the class comment).
  [[nodiscard]] double error_rate() const;
  [[nodiscard]] double queue_depth() const;
  /// `base` with error_rate and queue_depth replaced by this feed's values.
  [[nodiscard]] LoadSignals fill(LoadSignals base) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ratelimit
