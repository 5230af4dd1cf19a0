// Fuzzing the /proc parsers with RapidCheck (no libFuzzer needed): random
// bytes, and random mutations of real files, either parse into consistent
// figures or throw ProcReadError; nothing else, never a crash.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

#include "ratelimit/resilience/load_signals.hpp"

namespace ratelimit {
namespace {

const std::string kStat =
    "cpu  10000 500 3000 80000 1000 200 100 0 2000 0\ncpu0 5000 250 1500 40000 500 100 50 0 "
    "1000 0\nintr 1 2 3\n";
const std::string kMeminfo =
    "MemTotal:       16000000 kB\nMemFree:         2000000 kB\nMemAvailable:    4000000 kB\n"
    "Buffers:          300000 kB\nCached:          2500000 kB\n";
const std::string kStatus = "Name:\tx\nVmRSS:\t  123456 kB\nThreads:\t4\n";

// Runs every parser on `text`; only ProcReadError may escape them.
void parse_all(const std::string& text) {
  try {
    const proc::CpuTimes t = proc::parse_stat(text);
    RC_ASSERT(t.busy <= t.total);
  } catch (const ProcReadError& e) {
    RC_ASSERT(e.file() == "/proc/stat");
  }
  try {
    const proc::MemInfo m = proc::parse_meminfo(text);
    RC_ASSERT(m.total_kib > 0u);
    RC_ASSERT(m.available_kib <= m.total_kib);
  } catch (const ProcReadError& e) {
    RC_ASSERT(e.file() == "/proc/meminfo");
  }
  try {
    (void)proc::parse_status_rss(text);
  } catch (const ProcReadError& e) {
    RC_ASSERT(e.file() == "/proc/self/status");
  }
}

// Bytes biased toward what the parsers look for, so the fuzz reaches past
// the first check.
rc::Gen<std::string> proc_like_text() {
  const std::vector<std::string> pieces = {"cpu",
                                           "cpu0",
                                           " ",
                                           "\t",
                                           "\n",
                                           ":",
                                           "kB",
                                           "MB",
                                           "MemTotal",
                                           "MemAvailable",
                                           "MemFree",
                                           "Buffers",
                                           "Cached",
                                           "VmRSS",
                                           "0",
                                           "1",
                                           "42",
                                           "18446744073709551615",
                                           "99999999999999999999",
                                           "-1",
                                           "\r",
                                           std::string(1, '\0'),
                                           "\xff"};
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(rc::gen::elementOf(pieces)),
                      [](const std::vector<std::string>& parts) {
                        std::string out;
                        for (const std::string& p : parts) out += p;
                        return out;
                      });
}

RC_GTEST_PROP(LoadProcFuzz, RandomBytesNeverCrash, (const std::string& bytes)) { parse_all(bytes); }

RC_GTEST_PROP(LoadProcFuzz, ProcLikeTokensNeverCrash, ()) { parse_all(*proc_like_text()); }

RC_GTEST_PROP(LoadProcFuzz, MutatedRealFilesNeverCrash, ()) {
  std::string text = *rc::gen::elementOf(std::vector<std::string>{kStat, kMeminfo, kStatus});
  const auto edits = *rc::gen::inRange<std::size_t>(1, 8);
  for (std::size_t i = 0; i < edits && !text.empty(); ++i) {
    const auto at = *rc::gen::inRange<std::size_t>(0, text.size());
    switch (*rc::gen::inRange(0, 3)) {
      case 0:
        text[at] = *rc::gen::arbitrary<char>();
        break;
      case 1:
        text.erase(at, *rc::gen::inRange<std::size_t>(1, 20));
        break;
      default:
        text.insert(at, *rc::gen::arbitrary<std::string>());
        break;
    }
  }
  parse_all(text);
}

TEST(LoadProcFuzz, TheSeedFilesParse) {
  EXPECT_EQ(proc::parse_stat(kStat).total, 94'800u);
  EXPECT_EQ(proc::parse_meminfo(kMeminfo).available_kib, 4'000'000u);
  EXPECT_EQ(proc::parse_status_rss(kStatus), 123'456u * 1024u);
}

}  // namespace
}  // namespace ratelimit
