#pragma once
/// @file workload.hpp
/// Key sets, precomputed random draws and resident-memory readings, shared by
/// the Google Benchmark program and the `ratelimit bench` command. Not part
/// of the library.

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string_view>
#include <system_error>
#include <vector>

namespace ratelimit::bench {

/// A key held inline (at most 15 bytes), 16 bytes in all, so a sequence of
/// draws is one sequential stream: the harness reads it with the hardware
/// prefetcher's help instead of taking a cache miss of its own per decision,
/// as a server that has just parsed the key from a request would.
struct KeySlot {
  std::array<char, 15> bytes{};
  std::uint8_t size = 0;
  [[nodiscard]] std::string_view view() const noexcept { return {bytes.data(), size}; }
};
static_assert(sizeof(KeySlot) == 16);

/// Key number `index` as "user:" plus at least six decimal digits
/// ("user:000042", 11 bytes for the first million; up to 15 bytes).
[[nodiscard]] inline KeySlot make_key(std::uint64_t index) noexcept {
  KeySlot k;
  constexpr std::string_view prefix = "user:";
  std::memcpy(k.bytes.data(), prefix.data(), prefix.size());
  std::array<char, 20> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), index);
  const auto n = ec == std::errc{} ? static_cast<std::size_t>(end - digits.data()) : 0;
  std::size_t len = prefix.size();
  for (std::size_t i = n; i < 6; ++i) k.bytes[len++] = '0';  // at most 6: len stays <= 11
  const std::size_t copy = std::min(n, k.bytes.size() - len);  // indexes below 10^10 fit
  std::memcpy(k.bytes.data() + len, digits.data(), copy);
  len += copy;
  k.size = static_cast<std::uint8_t>(len);
  return k;
}

/// `count` keys drawn uniformly at random (with replacement) from the first
/// `keys` keys, materialized in draw order. Deterministic for a given seed.
[[nodiscard]] inline std::vector<KeySlot> make_draws(std::uint64_t keys, std::size_t count,
                                                     std::uint64_t seed) {
  std::vector<KeySlot> draws(count);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::uint64_t> pick(0, keys - 1);
  for (KeySlot& slot : draws) slot = make_key(pick(rng));
  return draws;
}

/// Resident set size of this process in bytes (/proc/self/statm), 0 if unreadable.
[[nodiscard]] inline std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total_pages = 0;
  std::size_t resident_pages = 0;
  if (!(statm >> total_pages >> resident_pages)) return 0;
  const long page = ::sysconf(_SC_PAGESIZE);
  return resident_pages * (page > 0 ? static_cast<std::size_t>(page) : 4096U);
}

/// Hands freed heap memory back to the kernel, so the next RSS reading is not
/// flattered by pages a previous run left in malloc's free lists.
inline void release_free_memory() noexcept { ::malloc_trim(0); }

}  // namespace ratelimit::bench
