#include "ratelimit/resilience/load_signals.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ratelimit {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = RATELIMIT_LOAD_FIXTURES;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A scratch /proc root whose files a test rewrites between samples.
struct ScratchRoot {
  ScratchRoot() {
    root = fs::path(::testing::TempDir()) /
           ("load_proc_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root);
    fs::create_directories(root / "self");
  }
  ~ScratchRoot() { fs::remove_all(root); }
  void put(const std::string& name, const std::string& text) const {
    std::ofstream(root / name, std::ios::binary | std::ios::trunc) << text;
  }
  void copy(const std::string& fixture, const std::string& name) const {
    put(name, slurp(fs::path(kFixtures) / fixture));
  }
  fs::path root;
};

TEST(LoadProcParsers, StatSumsTheFirstEightColumnsAndIgnoresGuests) {
  const proc::CpuTimes t = proc::parse_stat(slurp(fs::path(kFixtures) / "host_a/stat"));
  EXPECT_EQ(t.total, 94'800u);  // guest 2000 is already inside user
  EXPECT_EQ(t.busy, 13'800u);   // total - idle 80000 - iowait 1000
}

TEST(LoadProcParsers, StatWithFourColumnsFromOldKernels) {
  const proc::CpuTimes t = proc::parse_stat(slurp(fs::path(kFixtures) / "old_kernel/stat"));
  EXPECT_EQ(t.total, 1000u);
  EXPECT_EQ(t.busy, 400u);
}

TEST(LoadProcParsers, StatErrorsNameTheFileAndTheProblem) {
  struct Row {
    std::string text;
    std::string message;
  };
  const Row rows[] = {
      {"", "/proc/stat: no 'cpu' line"},
      {"cpu0 1 2 3 4\n", "/proc/stat: no 'cpu' line"},
      {"cpu 1 2 3\n", "/proc/stat: 'cpu' line has 3 columns, expected at least 4"},
      {"cpu 1 2 x 4\n", "/proc/stat: 'cpu' column 3 is 'x', not an unsigned integer"},
      {"cpu 1 2 -3 4\n", "/proc/stat: 'cpu' column 3 is '-3', not an unsigned integer"},
      {"cpu 1 2 3 99999999999999999999\n",
       "/proc/stat: 'cpu' column 4 is '99999999999999999999', not an unsigned integer"},
      {"cpu 18446744073709551615 1 0 0\n", "/proc/stat: 'cpu' columns overflow when summed"},
      {std::string("cpu 1 2 \x01\xff 4\n", 13),
       "/proc/stat: 'cpu' column 3 is '\\x01\\xff', not an unsigned integer"},
  };
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    try {
      (void)proc::parse_stat(rows[i].text);
      ADD_FAILURE() << "row " << i << " parsed";
    } catch (const ProcReadError& e) {
      EXPECT_EQ(e.what(), rows[i].message) << "row " << i;
      EXPECT_EQ(e.file(), "/proc/stat") << "row " << i;
    }
  }
}

TEST(LoadProcParsers, MeminfoPrefersMemAvailable) {
  const proc::MemInfo m = proc::parse_meminfo(slurp(fs::path(kFixtures) / "host_a/meminfo"));
  EXPECT_EQ(m.total_kib, 16'000'000u);
  EXPECT_EQ(m.available_kib, 4'000'000u);
}

TEST(LoadProcParsers, MeminfoFallsBackToFreeBuffersCachedAndCapsAtTotal) {
  const proc::MemInfo m = proc::parse_meminfo(slurp(fs::path(kFixtures) / "old_kernel/meminfo"));
  EXPECT_EQ(m.available_kib, 400'000u);
  const proc::MemInfo capped =
      proc::parse_meminfo("MemTotal: 100 kB\nMemFree: 50 kB\nBuffers: 30 kB\nCached: 40 kB\n");
  EXPECT_EQ(capped.available_kib, 100u);
}

TEST(LoadProcParsers, MeminfoErrors) {
  struct Row {
    std::string text;
    std::string message;
  };
  const Row rows[] = {
      {"MemFree: 1 kB\n", "/proc/meminfo: no MemTotal line"},
      {"MemTotal: 0 kB\nMemAvailable: 0 kB\n", "/proc/meminfo: MemTotal is 0 kB"},
      {"MemTotal: 10 kB\nMemFree: 1 kB\n",
       "/proc/meminfo: no MemAvailable line (nor MemFree, Buffers and Cached)"},
      {"MemTotal: 10 kB\nMemAvailable: 11 kB\n",
       "/proc/meminfo: MemAvailable 11 kB exceeds MemTotal 10 kB"},
      {"MemTotal: lots kB\n", "/proc/meminfo: MemTotal: value 'lots' is not an unsigned integer"},
      {"MemTotal:\n", "/proc/meminfo: MemTotal: no value"},
      {"MemTotal: 10 MB\n", "/proc/meminfo: MemTotal: unit 'MB' (expected kB)"},
      {"MemTotal: 10 kB extra\n", "/proc/meminfo: MemTotal: unexpected text after the value"},
  };
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    try {
      (void)proc::parse_meminfo(rows[i].text);
      ADD_FAILURE() << "row " << i << " parsed";
    } catch (const ProcReadError& e) {
      EXPECT_EQ(e.what(), rows[i].message) << "row " << i;
    }
  }
}

TEST(LoadProcParsers, StatusRssInBytes) {
  EXPECT_EQ(proc::parse_status_rss(slurp(fs::path(kFixtures) / "host_a/self/status")),
            123'456u * 1024u);
  EXPECT_THROW((void)proc::parse_status_rss("VmRSS: 18446744073709551615 kB\n"), ProcReadError);
}

TEST(LoadProcParsers, BusyFractionNeedsTicksGoingForward) {
  const proc::CpuTimes a{100, 1000};
  EXPECT_EQ(proc::busy_fraction(a, {160, 1100}), 0.6);
  EXPECT_EQ(proc::busy_fraction(a, {100, 1000}), std::nullopt);  // no tick elapsed
  EXPECT_EQ(proc::busy_fraction(a, {50, 900}), std::nullopt);    // counters reset
  EXPECT_EQ(proc::busy_fraction(a, {300, 1100}), 1.0);           // idle went backwards
}

TEST(LoadProcLoadSampler, ReadsFixturesFirstSinceBootThenBetweenReadings) {
  ScratchRoot dir;
  dir.copy("host_a/stat", "stat");
  dir.copy("host_a/meminfo", "meminfo");
  ProcLoadSampler sampler(dir.root.string());
  const ProcLoadSampler::Sample first = sampler.sample();
  EXPECT_DOUBLE_EQ(first.cpu, 13'800.0 / 94'800.0);
  EXPECT_DOUBLE_EQ(first.memory, 0.75);

  dir.copy("host_a_later/stat", "stat");
  EXPECT_DOUBLE_EQ(sampler.sample().cpu, 0.6);  // 600 busy of 1000 ticks
  // No tick since: the previous figure stands.
  EXPECT_DOUBLE_EQ(sampler.sample().cpu, 0.6);

  const LoadSignals filled = sampler.fill(LoadSignals{0, 0, 0.25, 7});
  EXPECT_EQ(filled, (LoadSignals{0.6, 0.75, 0.25, 7}));
}

TEST(LoadProcLoadSampler, MalformedFileThrowsNamingItAndKeepsThePreviousReading) {
  ScratchRoot dir;
  dir.copy("host_a/stat", "stat");
  dir.copy("host_a/meminfo", "meminfo");
  ProcLoadSampler sampler(dir.root.string());
  (void)sampler.sample();
  dir.copy("malformed/stat", "stat");
  try {
    (void)sampler.sample();
    FAIL() << "malformed stat parsed";
  } catch (const ProcReadError& e) {
    EXPECT_EQ(e.file(), (dir.root / "stat").string());
    EXPECT_NE(std::string(e.what()).find("'cpu' column 3 is 'lots'"), std::string::npos)
        << e.what();
  }
  dir.copy("host_a_later/stat", "stat");
  EXPECT_DOUBLE_EQ(sampler.sample().cpu, 0.6);  // measured from the last good reading
}

TEST(LoadProcLoadSampler, MissingFilesThrowNamingThem) {
  const std::string root = kFixtures + "/does_not_exist";
  ProcLoadSampler sampler(root);
  try {
    (void)sampler.sample();
    FAIL() << "sampled a missing directory";
  } catch (const ProcReadError& e) {
    EXPECT_EQ(e.file(), root + "/stat");
    EXPECT_EQ(std::string(e.what()), root + "/stat: cannot open: No such file or directory");
  }
  ProcLoadSampler malformed(kFixtures + "/malformed");
  EXPECT_THROW((void)malformed.rss_bytes(), ProcReadError);
  try {
    (void)ProcLoadSampler(kFixtures + "/old_kernel").rss_bytes();
    FAIL();
  } catch (const ProcReadError& e) {
    EXPECT_EQ(e.file(), kFixtures + "/old_kernel/self/status");
  }
}

TEST(LoadProcLoadSampler, OldKernelFallbacks) {
  ProcLoadSampler sampler(kFixtures + "/old_kernel");
  const ProcLoadSampler::Sample s = sampler.sample();
  EXPECT_DOUBLE_EQ(s.cpu, 0.4);
  EXPECT_DOUBLE_EQ(s.memory, 0.6);
  EXPECT_EQ(ProcLoadSampler(kFixtures + "/host_a").rss_bytes(), 123'456u * 1024u);
}

TEST(LoadProcLoadSampler, ThisHostGivesFractions) {
  // The real /proc of the machine running the test: only ranges are known.
  if (!fs::exists("/proc/stat")) GTEST_SKIP() << "no /proc";
  ProcLoadSampler sampler;
  const ProcLoadSampler::Sample s = sampler.sample();
  EXPECT_GE(s.cpu, 0.0);
  EXPECT_LE(s.cpu, 1.0);
  EXPECT_GT(s.memory, 0.0);
  EXPECT_LT(s.memory, 1.0);
  EXPECT_GT(sampler.rss_bytes(), 0u);
}

}  // namespace
}  // namespace ratelimit
