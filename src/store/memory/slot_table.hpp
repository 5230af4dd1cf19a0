#pragma once
// One shard's open-addressing table: parallel arrays of 16-byte states and
// 24-byte metadata (hash tag, algorithm, key inline up to 18 bytes).
//
// Readers probe without locks; one writer per shard (holding the shard's
// mutex) publishes new slots and rebuilds the table. A slot's metadata is
// written before its state is published (release) and never changes while
// the table is live, so a reader that saw the state may read the metadata.
// Deleted slots stay as tombstones until the next rebuild.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ratelimit/limit_spec.hpp"
#include "store/memory/key_hash.hpp"
#include "store/memory/packed_state.hpp"

namespace ratelimit::memory {

inline constexpr std::size_t kInlineKey = 18;
inline constexpr std::uint8_t kLongKey = 0xFF;

/// A key longer than kInlineKey, allocated separately.
struct LongKey {
  std::uint32_t size;
  char data[1];  // really `size` bytes
  [[nodiscard]] std::string_view view() const noexcept { return {data, size}; }
  static LongKey* make(std::string_view key);
  static void destroy(void* p) noexcept;
};

struct Meta {
  std::uint32_t tag = 0;
  Algorithm algorithm{};
  std::uint8_t length = 0;  // kLongKey: `key` holds a LongKey*
  char key[kInlineKey] = {};

  [[nodiscard]] LongKey* long_key() const noexcept;
  [[nodiscard]] std::string_view key_view() const noexcept;
  [[nodiscard]] bool matches(std::uint32_t t, std::string_view k) const noexcept {
    return tag == t && key_view() == k;
  }
};
static_assert(sizeof(Meta) == 24);

class Table {
 public:
  static constexpr std::size_t kNotFound = ~std::size_t{0};

  /// A zeroed table of `capacity` slots (all empty).
  static Table* create(std::size_t capacity);
  static void destroy(Table* t) noexcept;

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] Words* state(std::size_t i) const noexcept { return states_ + i; }
  [[nodiscard]] Meta& meta(std::size_t i) const noexcept { return metas_[i]; }
  [[nodiscard]] std::size_t home(KeyHash h) const noexcept {
    return static_cast<std::size_t>((std::uint64_t{h.low()} * capacity_) >> 32);
  }
  [[nodiscard]] std::size_t next(std::size_t i) const noexcept { return i + 1 == capacity_ ? 0 : i + 1; }
  /// Bytes of the two arrays.
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

  /// The live (not deleted) slot holding `key`, or kNotFound. Lock-free.
  [[nodiscard]] std::size_t find(KeyHash h, std::string_view key) const noexcept;
  /// First empty slot on `h`'s probe path (writer only; the table must have room).
  [[nodiscard]] std::size_t free_slot(KeyHash h) const noexcept;
  /// Brings the home slot of `h` towards the cache ahead of a lookup.
  void prefetch(KeyHash h) const noexcept {
    const std::size_t i = home(h);
    __builtin_prefetch(states_ + i, 1);
    __builtin_prefetch(metas_ + i, 0);
  }

 private:
  Table() = default;
  std::size_t capacity_ = 0;
  std::size_t bytes_ = 0;
  bool mapped_ = false;  // an anonymous mapping (else a heap block)
  Words* states_ = nullptr;
  Meta* metas_ = nullptr;
};

}  // namespace ratelimit::memory
