#pragma once
// Hashing keys for the memory store's tables.
//
// Keys are short (an identifier with a prefix, typically under 32 bytes) and
// come from clients, so the hash must be fast on short input and seeded per
// store: with a fixed, public function an attacker could choose many keys
// that collide and turn lookups into long probe sequences. (Debian's Abseil
// hashes std::string_view through std::hash: unseeded, and an out-of-line
// call that costs more than the rest of a hot-key decision.)
//
// The mixing step is the 64x64->128-bit multiply-and-fold used by wyhash and
// similar hashes: every input bit affects the high and low halves.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace ratelimit::memory {

/// Where a key hashes: which shard (top bits), which tag, which home slot (low bits).
struct KeyHash {
  std::uint64_t value;
  [[nodiscard]] std::uint32_t tag() const noexcept {
    return static_cast<std::uint32_t>(value >> 20);
  }
  [[nodiscard]] std::uint32_t low() const noexcept { return static_cast<std::uint32_t>(value); }
};

namespace detail {

inline constexpr std::uint64_t kMul0 = 0xa0761d6478bd642fULL;
inline constexpr std::uint64_t kMul1 = 0xe7037ed1a0b428dbULL;
inline constexpr std::uint64_t kMul2 = 0x8ebc6af09c88c6e3ULL;

[[nodiscard]] inline std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ using U = unsigned __int128;
  const U r = U{a} * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

[[nodiscard]] inline std::uint64_t read8(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

[[nodiscard]] inline std::uint64_t read4(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace detail

/// Hash of `key` under `seed` (each store draws its own at construction).
[[nodiscard]] inline KeyHash hash_key(std::uint64_t seed, std::string_view key) noexcept {
  using namespace detail;
  const char* p = key.data();
  std::size_t n = key.size();
  std::uint64_t h = seed ^ (n * kMul0);
  while (n > 16) {
    h = fold_multiply(read8(p) ^ kMul1, read8(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  // The last 1..16 bytes, read as two possibly overlapping words (no byte loop).
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  if (n >= 8) {
    a = read8(p);
    b = read8(p + n - 8);
  } else if (n >= 4) {
    a = read4(p);
    b = read4(p + n - 4);
  } else if (n > 0) {
    const auto byte = [&](std::size_t i) {
      return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i]));
    };
    a = (byte(0) << 16) | (byte(n >> 1) << 8) | byte(n - 1);
  }
  h = fold_multiply(a ^ kMul1, b ^ h);
  return KeyHash{fold_multiply(h ^ kMul2, kMul0 ^ (key.size() << 1))};
}

}  // namespace ratelimit::memory
