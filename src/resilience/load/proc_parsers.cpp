// Parsers of /proc/stat, /proc/meminfo and /proc/<pid>/status. They see
// arbitrary bytes (fixtures, fuzzing, a future kernel), so every number is
// checked for syntax and range and every problem becomes a ProcReadError.

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "ratelimit/resilience/load_signals.hpp"

namespace ratelimit {

ProcReadError::ProcReadError(std::string file, const std::string& problem)
    : std::runtime_error(file + ": " + problem), file_(std::move(file)) {}

namespace proc {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

// Splits a line into whitespace-separated tokens.
std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// Calls f(line) for each '\n'-separated line; stops when f returns true.
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    if (f(line)) return;
    if (nl == std::string_view::npos) return;
    text.remove_prefix(nl + 1);
  }
}

// Shows a token in a message: printable ASCII kept, the rest escaped, long
// tokens cut, so a message about garbage is itself readable.
std::string shown(std::string_view token) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < token.size() && i < 32; ++i) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (token.size() > 32) out += "...";
  return out + "'";
}

std::optional<std::uint64_t> to_u64(std::string_view token) noexcept {
  if (token.empty() || token.front() < '0' || token.front() > '9') return std::nullopt;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec != std::errc{} || ptr != token.data() + token.size()) return std::nullopt;
  return v;
}

bool add(std::uint64_t& sum, std::uint64_t v) noexcept {
  if (v > kMax - sum) return false;
  sum += v;
  return true;
}

// "Key:  123 kB" -> value of `key` in KiB, if the line is that key's.
struct KeyValue {
  std::string_view key;
  std::string_view value;  // the number token
  std::string_view unit;   // "kB" or empty
  std::size_t extra = 0;   // tokens after the unit (none in a valid line)
};

std::optional<KeyValue> key_value(std::string_view line) {
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  KeyValue kv;
  kv.key = line.substr(0, colon);
  const std::vector<std::string_view> rest = tokens(line.substr(colon + 1));
  if (!rest.empty()) kv.value = rest[0];
  if (rest.size() > 1) kv.unit = rest[1];
  if (rest.size() > 2) kv.extra = rest.size() - 2;
  return kv;
}

// The KiB figure of a "Key: N kB" line, or a ProcReadError naming the line.
std::uint64_t kib_value(const KeyValue& kv, const std::string& file) {
  const std::string key(kv.key);
  if (kv.value.empty()) throw ProcReadError(file, key + ": no value");
  const std::optional<std::uint64_t> v = to_u64(kv.value);
  if (!v) {
    throw ProcReadError(file, key + ": value " + shown(kv.value) + " is not an unsigned integer");
  }
  if (!kv.unit.empty() && kv.unit != "kB") {
    throw ProcReadError(file, key + ": unit " + shown(kv.unit) + " (expected kB)");
  }
  if (kv.extra > 0) throw ProcReadError(file, key + ": unexpected text after the value");
  return *v;
}

}  // namespace

CpuTimes parse_stat(std::string_view text, const std::string& file) {
  std::optional<std::vector<std::string_view>> cpu;
  for_each_line(text, [&](std::string_view line) {
    std::vector<std::string_view> t = tokens(line);
    if (!t.empty() && t[0] == "cpu") {
      cpu = std::move(t);
      return true;
    }
    return false;
  });
  if (!cpu) throw ProcReadError(file, "no 'cpu' line");
  // user nice system idle iowait irq softirq steal [guest guest_nice]
  const std::size_t columns = cpu->size() - 1;
  if (columns < 4) {
    throw ProcReadError(
        file, "'cpu' line has " + std::to_string(columns) + " columns, expected at least 4");
  }
  std::uint64_t v[8] = {};
  const std::size_t used = columns < 8 ? columns : 8;
  CpuTimes out;
  for (std::size_t i = 0; i < used; ++i) {
    const std::optional<std::uint64_t> n = to_u64((*cpu)[i + 1]);
    if (!n) {
      throw ProcReadError(file, "'cpu' column " + std::to_string(i + 1) + " is " +
                                    shown((*cpu)[i + 1]) + ", not an unsigned integer");
    }
    v[i] = *n;
    if (!add(out.total, *n)) throw ProcReadError(file, "'cpu' columns overflow when summed");
  }
  out.busy = out.total - v[3] - v[4];  // idle and iowait are in total: no underflow
  return out;
}

MemInfo parse_meminfo(std::string_view text, const std::string& file) {
  std::optional<std::uint64_t> total, available, free, buffers, cached;
  auto take = [&](std::optional<std::uint64_t>& slot, const KeyValue& kv) {
    if (!slot) slot = kib_value(kv, file);  // the first occurrence counts
  };
  for_each_line(text, [&](std::string_view line) {
    const std::optional<KeyValue> kv = key_value(line);
    if (!kv) return false;
    if (kv->key == "MemTotal") take(total, *kv);
    if (kv->key == "MemAvailable") take(available, *kv);
    if (kv->key == "MemFree") take(free, *kv);
    if (kv->key == "Buffers") take(buffers, *kv);
    if (kv->key == "Cached") take(cached, *kv);
    return false;
  });
  if (!total) throw ProcReadError(file, "no MemTotal line");
  if (*total == 0) throw ProcReadError(file, "MemTotal is 0 kB");
  MemInfo out;
  out.total_kib = *total;
  if (available) {
    out.available_kib = *available;
  } else if (free && buffers && cached) {
    std::uint64_t sum = *free;
    if (!add(sum, *buffers) || !add(sum, *cached)) {
      throw ProcReadError(file, "MemFree + Buffers + Cached overflows");
    }
    // The old estimate can exceed the total (Cached counts shared pages).
    out.available_kib = sum < *total ? sum : *total;
    return out;
  } else {
    throw ProcReadError(file, "no MemAvailable line (nor MemFree, Buffers and Cached)");
  }
  if (out.available_kib > out.total_kib) {
    throw ProcReadError(file, "MemAvailable " + std::to_string(out.available_kib) +
                                  " kB exceeds MemTotal " + std::to_string(out.total_kib) + " kB");
  }
  return out;
}

std::uint64_t parse_status_rss(std::string_view text, const std::string& file) {
  std::optional<std::uint64_t> rss;
  for_each_line(text, [&](std::string_view line) {
    const std::optional<KeyValue> kv = key_value(line);
    if (kv && kv->key == "VmRSS") {
      rss = kib_value(*kv, file);
      return true;
    }
    return false;
  });
  if (!rss) throw ProcReadError(file, "no VmRSS line (a kernel thread has none)");
  if (*rss > kMax / 1024) throw ProcReadError(file, "VmRSS too large to express in bytes");
  return *rss * 1024;
}

std::optional<double> busy_fraction(const CpuTimes& before, const CpuTimes& after) noexcept {
  if (after.total <= before.total || after.busy < before.busy) return std::nullopt;
  const std::uint64_t total = after.total - before.total;
  const std::uint64_t busy = after.busy - before.busy;
  if (busy >= total) return 1.0;  // idle went backwards: count it all busy
  return static_cast<double>(busy) / static_cast<double>(total);
}

}  // namespace proc
}  // namespace ratelimit
