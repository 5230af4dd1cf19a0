#pragma once
/// @file heavy_hitters.hpp
/// The most frequent identifiers of a stream in fixed memory: a Misra-Gries
/// summary (Agarwal et al., "Mergeable summaries", 2012), mergeable without
/// losing its error bound.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ratelimit::telemetry {

/// A Misra-Gries summary with kCapacity counters.
///
/// Error bound: after N counted events (summed over every summary merged in),
/// an identifier's estimate `f̂` satisfies `f - error_bound() <= f̂ <= f`, where
/// `error_bound() = (N - sum of estimates) / (kCapacity + 1) <= N / 65`. So
/// every identifier with more than N / 65 events is in the summary, and the
/// bound survives any number of merges.
///
/// Identifiers longer than kMaxIdBytes are truncated (those sharing the first
/// 64 bytes are counted together). `add` never allocates. Not thread-safe:
/// callers own one per shard or hold a lock.
class HeavyHitters {
 public:
  static constexpr std::size_t kCapacity = 64;
  static constexpr std::size_t kMaxIdBytes = 64;

  struct Item {
    std::string id;
    /// A lower bound of the true count; the true count is at most
    /// `count + error_bound()`.
    std::uint64_t count = 0;
  };

  /// Counts `weight` events of `id`.
  void add(std::string_view id, std::uint64_t weight = 1) noexcept;
  /// Adds `other`'s counts (as if its events had been added here).
  void merge(const HeavyHitters& other);
  /// Forgets everything.
  void clear() noexcept;

  /// Events counted (N), including merged ones.
  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }
  /// How much any estimate may be below the true count.
  [[nodiscard]] std::uint64_t error_bound() const noexcept;
  /// The estimate for `id` (0 when not tracked).
  [[nodiscard]] std::uint64_t estimate(std::string_view id) const noexcept;
  /// The `k` largest estimates, largest first (ties by id).
  [[nodiscard]] std::vector<Item> top(std::size_t k) const;
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  struct Entry {
    std::uint64_t hash = 0;
    std::uint64_t count = 0;
    std::uint8_t length = 0;
    std::array<char, kMaxIdBytes> id{};
    [[nodiscard]] std::string_view view() const noexcept { return {id.data(), length}; }
  };
  // The index of `id`'s counter, or kCapacity when it has none.
  [[nodiscard]] std::size_t find(std::uint64_t hash, std::string_view id) const noexcept;
  // Subtracts `amount` from every counter and drops those that reach zero.
  void decrement_all(std::uint64_t amount) noexcept;

  std::array<Entry, kCapacity> entries_{};
  std::size_t size_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t kept_ = 0;  // sum of the counters
};

}  // namespace ratelimit::telemetry
