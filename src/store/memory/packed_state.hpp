#pragma once
// A key's state as two 64-bit words, swapped as one 16-byte unit.
//
// w0 carries control flags in its top four bits and an instant (or instant-
// like value, always < 2^60) below them; w1 carries the rest. Every
// algorithm's state fits (sliding_log keeps a pointer to its log in w1), and
// every encoding lets `expires_at` be computed from the words alone, so the
// sweep can drop expired keys without knowing their LimitSpec.

#include <bit>
#include <cstdint>

#include "ratelimit/algorithms.hpp"

namespace ratelimit::memory {

struct alignas(16) Words {
  std::uint64_t w0 = 0;
  std::uint64_t w1 = 0;
  friend bool operator==(const Words&, const Words&) = default;
};

/// Slot holds a published state (a zero w0 is an empty slot).
inline constexpr std::uint64_t kOccupied = std::uint64_t{1} << 63;
/// A multi-check decision (or a sliding_log update) owns the state.
inline constexpr std::uint64_t kLocked = std::uint64_t{1} << 62;
/// Deleted (reset, expired, evicted): never reused in this table.
inline constexpr std::uint64_t kDead = std::uint64_t{1} << 61;
/// Being copied to a new table: readers retry there.
inline constexpr std::uint64_t kFrozen = std::uint64_t{1} << 60;
inline constexpr std::uint64_t kValueMask = kFrozen - 1;
inline constexpr std::uint64_t kFlagMask = ~kValueMask;

[[nodiscard]] inline std::uint64_t value_of(std::uint64_t w0) noexcept { return w0 & kValueMask; }
[[nodiscard]] inline Micros instant_of(std::uint64_t w0) noexcept { return static_cast<Micros>(w0 & kValueMask); }
[[nodiscard]] inline std::uint64_t published(Micros instant) noexcept {
  return kOccupied | (static_cast<std::uint64_t>(instant) & kValueMask);
}

// --- 16-byte atomics. Each word is also read alone (8-byte atomic loads); a
// pair read that way may be torn, which only makes the following CAS fail.

[[nodiscard]] inline std::uint64_t load_w0(const Words* p) noexcept {
  return __atomic_load_n(&p->w0, __ATOMIC_ACQUIRE);
}
[[nodiscard]] inline Words load_words(const Words* p) noexcept {
  Words w;
  w.w0 = __atomic_load_n(&p->w0, __ATOMIC_ACQUIRE);
  w.w1 = __atomic_load_n(&p->w1, __ATOMIC_ACQUIRE);
  return w;
}

/// Atomically replaces `expected` with `desired`; on failure `expected`
/// receives the current words. Full barrier.
inline bool cas_words(Words* p, Words& expected, Words desired) noexcept {
  __extension__ using U = unsigned __int128;
  const U exp = (U{expected.w1} << 64) | expected.w0;
  const U des = (U{desired.w1} << 64) | desired.w0;
  const U got = __sync_val_compare_and_swap(reinterpret_cast<U*>(p), exp, des);
  if (got == exp) return true;
  expected.w0 = static_cast<std::uint64_t>(got);
  expected.w1 = static_cast<std::uint64_t>(got >> 64);
  return false;
}

/// Publishes the first state of an empty slot (only the shard's writer does this).
inline void publish_words(Words* p, Words w) noexcept {
  __atomic_store_n(&p->w1, w.w1, __ATOMIC_RELAXED);
  __atomic_store_n(&p->w0, w.w0, __ATOMIC_RELEASE);
}

// --- Encodings, one per algorithm.

[[nodiscard]] inline Words encode(const algo::token_bucket::State& s) noexcept {
  return {published(s.last), std::bit_cast<std::uint64_t>(s.deficit)};
}
[[nodiscard]] inline algo::token_bucket::State decode_token_bucket(Words w) noexcept {
  return {instant_of(w.w0), std::bit_cast<double>(w.w1)};
}
[[nodiscard]] inline Words encode(const algo::gcra::State& s) noexcept {
  return {published(s.anchor), std::bit_cast<std::uint64_t>(s.offset)};
}
[[nodiscard]] inline algo::gcra::State decode_gcra(Words w) noexcept {
  return {instant_of(w.w0), std::bit_cast<double>(w.w1)};
}
[[nodiscard]] inline Words encode(const algo::leaky_bucket::State& s) noexcept {
  return {published(s.last), std::bit_cast<std::uint64_t>(s.drain)};
}
[[nodiscard]] inline algo::leaky_bucket::State decode_leaky_bucket(Words w) noexcept {
  return {instant_of(w.w0), std::bit_cast<double>(w.w1)};
}
[[nodiscard]] inline Words encode(const algo::fixed_window::State& s) noexcept {
  return {published(s.end), static_cast<std::uint64_t>(s.count)};
}
[[nodiscard]] inline algo::fixed_window::State decode_fixed_window(Words w) noexcept {
  return {instant_of(w.w0), static_cast<std::int64_t>(w.w1)};
}
[[nodiscard]] inline Words encode(const algo::sliding_window::State& s) noexcept {
  return {published(s.horizon), std::uint64_t{s.curr} | (std::uint64_t{s.prev} << 32)};
}
[[nodiscard]] inline algo::sliding_window::State decode_sliding_window(Words w) noexcept {
  return {instant_of(w.w0), static_cast<std::uint32_t>(w.w1), static_cast<std::uint32_t>(w.w1 >> 32)};
}
// sliding_log: w0's value is the instant the log expires (newest + W, 0 when
// empty); w1 points to the heap-allocated algo::sliding_log::State, which is
// only touched while kLocked is held.
[[nodiscard]] inline algo::sliding_log::State* log_of(Words w) noexcept {
  return std::bit_cast<algo::sliding_log::State*>(static_cast<std::uintptr_t>(w.w1));
}

/// Instant from which the state in `w` equals a new key's, for any algorithm.
[[nodiscard]] inline Micros expires_at(Algorithm a, Words w) noexcept {
  switch (a) {
    case Algorithm::token_bucket: return algo::token_bucket::expires_at(decode_token_bucket(w));
    case Algorithm::gcra: return algo::gcra::expires_at(decode_gcra(w));
    case Algorithm::leaky_bucket: return algo::leaky_bucket::expires_at(decode_leaky_bucket(w));
    case Algorithm::fixed_window: return algo::fixed_window::expires_at(decode_fixed_window(w));
    case Algorithm::sliding_window: return algo::sliding_window::expires_at(decode_sliding_window(w));
    case Algorithm::sliding_log: return instant_of(w.w0);
  }
  return 0;
}

}  // namespace ratelimit::memory
