// `ratelimit conformance DIR`: replays the vectors in DIR (format:
// tests/conformance/vectors/README.md) against a store and reports every
// field that disagrees with spec/algorithms.md.
//
// Each file is parsed and validated completely before any step runs
// (vector_file.cpp), so a malformed file is one clear error (one failure),
// never a half-run case or a crash.

#include "conformance.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <unistd.h>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "ratelimit/decision.hpp"
#include "ratelimit/limit_spec.hpp"
#include "ratelimit/memory_store.hpp"
#include "ratelimit/redis_store.hpp"
#include "ratelimit/store.hpp"
#include "ratelimit/time.hpp"
#include "vector_file.hpp"

namespace ratelimit::cli {

namespace {

namespace fs = std::filesystem;

// ---- Comparing -------------------------------------------------------------

std::string duration_text(Micros us) { return us == kInfinite ? "infinite (null)" : std::to_string(us); }

// Durations match within ±1 µs (the spec rounds up; models may differ by the
// last rounding step). Infinite matches only infinite. Written so that no
// subtraction can overflow whatever the store returned.
bool durations_match(Micros expected, Micros got) {
  if (expected == kInfinite || got == kInfinite) return expected == got;
  return expected > got ? expected - 1 <= got : got - 1 <= expected;
}

// Appends "<path>.<field>: expected x, got y" for every differing field.
void compare(const Expected& want, const Decision& got, const std::string& got_name, const std::string& path,
             std::vector<std::string>& out) {
  const auto differ = [&](std::string_view field, const std::string& expected, const std::string& actual) {
    out.push_back(path + "." + std::string(field) + ": expected " + expected + ", got " + actual);
  };
  const auto boolean = [](bool b) { return std::string(b ? "true" : "false"); };
  if (want.allowed != got.allowed) differ("allowed", boolean(want.allowed), boolean(got.allowed));
  if (want.limit != got.limit) differ("limit", std::to_string(want.limit), std::to_string(got.limit));
  if (want.remaining != got.remaining) {
    differ("remaining", std::to_string(want.remaining), std::to_string(got.remaining));
  }
  if (!durations_match(want.reset_after, got.reset_after)) {
    differ("reset_after_us", duration_text(want.reset_after), duration_text(got.reset_after));
  }
  if (!durations_match(want.retry_after, got.retry_after)) {
    differ("retry_after_us", duration_text(want.retry_after), duration_text(got.retry_after));
  }
  if (!durations_match(want.delay, got.delay)) differ("delay_us", duration_text(want.delay), duration_text(got.delay));
  if (want.name != got_name) differ("name", "'" + want.name + "'", "'" + got_name + "'");
}

// ---- Running ---------------------------------------------------------------


std::string_view op_name(Op op) {
  switch (op) {
    case Op::check: return "check";
    case Op::peek: return "peek";
    case Op::reset: return "reset";
  }
  return "?";
}

std::string describe_step(const Step& s) {
  std::ostringstream out;
  out << op_name(s.op) << " at " << s.at;
  if (s.op == Op::check) out << " cost " << s.cost;
  out << " [";
  for (std::size_t i = 0; i < s.labels.size(); ++i) out << (i > 0 ? " " : "") << s.labels[i];
  out << ']';
  return out.str();
}

std::string describe_decision(const Decision& d, const std::string& name) {
  std::ostringstream out;
  out << (d.allowed ? "allowed" : "denied") << " limit " << d.limit << " remaining " << d.remaining
      << " reset_after " << duration_text(d.reset_after) << " retry_after " << duration_text(d.retry_after)
      << " delay " << duration_text(d.delay) << " (" << name << ')';
  return out.str();
}

// The *.json files of `dir`, sorted by name so runs (and diffs of their
// output) are reproducible.
std::vector<fs::path> vector_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".json" && entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  return files;
}

}  // namespace

Tally run_case(const Case& c, Store& store, const std::string& file, bool verbose, std::ostream& out) {
  Tally tally;
  for (std::size_t i = 0; i < c.steps.size(); ++i) {
    const Step& s = c.steps[i];
    const std::string where = file + " step " + std::to_string(i);
    std::vector<Check> checks;
    checks.reserve(s.limits.size());
    for (std::size_t j = 0; j < s.limits.size(); ++j) checks.push_back(Check{&c.specs[s.limits[j]], s.store_keys[j]});

    if (s.op == Op::reset) {
      try {
        store.reset(checks);
        ++tally.passed;
        if (verbose) out << "ok   " << where << ": " << describe_step(s) << '\n';
      } catch (const std::exception& e) {
        ++tally.failed;
        out << "FAIL " << where << ": " << describe_step(s) << " threw: " << e.what() << '\n';
      }
      continue;
    }

    std::vector<Decision> each(checks.size());
    Decision combined;
    try {
      combined = store.decide(checks, s.op == Op::check ? s.cost : 0, s.at, each);
    } catch (const std::exception& e) {
      // Counted even without "expect": a step the store refuses is never silent.
      ++tally.failed;
      out << "FAIL " << where << ": " << describe_step(s) << " threw: " << e.what() << '\n';
      continue;
    }
    const auto name_of = [&](std::size_t check) { return c.names[s.limits[check]]; };
    const std::string combined_name = combined.check_index < checks.size()
                                          ? name_of(combined.check_index)
                                          : "<check_index " + std::to_string(combined.check_index) + " out of range>";

    if (!s.combined) {  // a setup step: nothing to compare
      if (verbose) out << "--   " << where << ": " << describe_step(s) << " -> "
                             << describe_decision(combined, combined_name) << '\n';
      continue;
    }
    std::vector<std::string> differences;
    compare(*s.combined, combined, combined_name, "combined", differences);
    for (std::size_t j = 0; j < s.each.size(); ++j) {
      compare(s.each[j], each[j], name_of(j), at_index("each", j), differences);
    }
    if (differences.empty()) {
      ++tally.passed;
    } else {
      ++tally.failed;
    }
    if (verbose) {
      out << (differences.empty() ? "ok   " : "FAIL ") << where << ": " << describe_step(s) << " -> "
                << describe_decision(combined, combined_name) << '\n';
    }
    for (const std::string& d : differences) out << "FAIL " << where << ' ' << d << '\n';
  }
  return tally;
}

namespace {

// Leaves nothing behind in a shared store.
void delete_keys(const Case& c, Store& store) {
  for (const Step& s : c.steps) {
    for (std::size_t j = 0; j < s.limits.size(); ++j) {
      const Check check{&c.specs[s.limits[j]], s.store_keys[j]};
      store.reset(std::span<const Check>(&check, 1));
    }
  }
}

}  // namespace

int run_conformance(const ConformanceOptions& options) {
  // Redis: the caller's clock (vectors give every instant), and keys under a
  // prefix of this run's own, deleted after each file.
  std::optional<RedisStoreOptions> redis;
  if (options.store != "memory") {
    if (options.store.rfind("redis", 0) != 0) {
      std::cerr << "ratelimit: unsupported store '" << options.store
                << "': expected memory or a redis://HOST:PORT URL\n";
      return 2;
    }
    redis = parse_redis_url(options.store);
    redis->time_mode = RedisTimeMode::client;
    redis->key_prefix += "conformance:" + std::to_string(::getpid()) + ":";
  }
  const fs::path dir(options.dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cerr << "ratelimit: conformance: '" << options.dir << "' is not a directory\n";
    return 2;
  }
  const std::vector<fs::path> files = vector_files(dir);
  // An empty directory would "pass" vacuously; a wrong path must not look green.
  if (files.empty()) {
    std::cerr << "ratelimit: conformance: no *.json vectors in '" << options.dir << "'\n";
    return 2;
  }

  Tally total;
  for (const fs::path& path : files) {
    const std::string file = path.filename().string();
    try {
      const Case c = load_case(path);
      // Fresh per file: cases never see each other's state.
      std::unique_ptr<Store> store;
      if (redis) {
        RedisStoreOptions o = *redis;
        o.key_prefix += file + ":";
        store = std::make_unique<RedisStore>(o);
      } else {
        store = std::make_unique<MemoryStore>();
      }
      const Tally t = run_case(c, *store, file, options.verbose, std::cout);
      if (redis) delete_keys(c, *store);
      total.passed += t.passed;
      total.failed += t.failed;
      if (options.verbose) std::cout << file << ": " << t.passed << " passed, " << t.failed << " failed\n";
    } catch (const std::exception& e) {
      // VectorError, InvalidLimitSpec (unknown mode) or anything else the
      // file provoked: one failure for the file, and on to the next file.
      ++total.failed;
      std::cout << "FAIL " << file << ": " << e.what() << '\n';
    }
  }
  std::cout << total.passed << " passed, " << total.failed << " failed\n";
  return total.failed == 0 ? 0 : 1;
}

}  // namespace ratelimit::cli