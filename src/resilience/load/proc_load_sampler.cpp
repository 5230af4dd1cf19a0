#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "ratelimit/resilience/load_signals.hpp"

namespace ratelimit {
namespace {

// /proc/stat grows with the CPU count (its "intr" line most); 16 MiB is far
// beyond any real one and keeps a runaway fixture from eating memory.
constexpr std::size_t kMaxProcFile = 16u << 20;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { (void)std::fclose(f); }
};

// The whole file. /proc files report size 0, so read until EOF.
std::string read_file(const std::string& path) {
  errno = 0;
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    const int err = errno;
    throw ProcReadError(
        path, std::string("cannot open: ") + (err != 0 ? std::strerror(err) : "unknown error"));
  }
  std::string text;
  char buffer[8192];
  for (;;) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, f.get());
    text.append(buffer, n);
    if (text.size() > kMaxProcFile) throw ProcReadError(path, "larger than 16 MiB");
    if (n < sizeof buffer) break;
  }
  if (std::ferror(f.get()) != 0) throw ProcReadError(path, "read error");
  return text;
}

}  // namespace

ProcLoadSampler::ProcLoadSampler(std::string proc_root) : root_(std::move(proc_root)) {}

ProcLoadSampler::Sample ProcLoadSampler::sample() {
  // Read and parse before taking the lock: a failure leaves the previous
  // reading as it was, and slow I/O does not block other samplers.
  const std::string stat_path = root_ + "/stat";
  const std::string meminfo_path = root_ + "/meminfo";
  const proc::CpuTimes cpu = proc::parse_stat(read_file(stat_path), stat_path);
  const proc::MemInfo mem = proc::parse_meminfo(read_file(meminfo_path), meminfo_path);

  Sample out;
  out.memory = 1.0 - static_cast<double>(mem.available_kib) / static_cast<double>(mem.total_kib);
  const std::lock_guard lock(mu_);
  if (previous_) {
    out.cpu = proc::busy_fraction(*previous_, cpu).value_or(last_cpu_);
  } else {
    out.cpu = cpu.total > 0 ? static_cast<double>(cpu.busy) / static_cast<double>(cpu.total) : 0.0;
  }
  previous_ = cpu;
  last_cpu_ = out.cpu;
  return out;
}

std::uint64_t ProcLoadSampler::rss_bytes() const {
  const std::string path = root_ + "/self/status";
  return proc::parse_status_rss(read_file(path), path);
}

LoadSignals ProcLoadSampler::fill(LoadSignals base) {
  const Sample s = sample();
  base.cpu = s.cpu;
  base.memory = s.memory;
  return base;
}

}  // namespace ratelimit
