#pragma once
/// @file space_saving.hpp
/// Space-Saving (Metwally, Agrawal, El Abbadi 2005): the heaviest keys of an
/// unbounded stream in a fixed number of counters.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ratelimit::planning {

/// Keeps `capacity` counters. A key already counted is incremented; a new
/// key takes over the smallest counter, inheriting its count as `error`.
/// Guarantees, after N additions: every key with more than N / capacity
/// occurrences is present; each reported count overestimates the true count
/// by at most its `error`, itself <= N / capacity. Memory: capacity entries
/// (key + two integers) and an index. Not thread-safe.
class SpaceSaving {
 public:
  explicit SpaceSaving(std::size_t capacity);

  void add(std::string_view key);

  struct Entry {
    std::string key;
    std::uint64_t count = 0;  ///< upper bound of the true count
    std::uint64_t error = 0;  ///< count - error <= true count <= count
  };
  /// The `n` largest counters, largest first.
  [[nodiscard]] std::vector<Entry> top(std::size_t n) const;
  /// Keys added so far (N).
  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct Hash {
    using is_transparent = void;
    // Not noexcept, so libstdc++ stores the hashes (see TrafficAnalyzer).
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void sift_down(std::size_t i);
  void swap_slots(std::size_t a, std::size_t b);

  std::size_t capacity_;
  std::uint64_t total_ = 0;
  /// A binary min-heap on count; index_ maps a key to its slot.
  std::vector<Entry> heap_;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> index_;
};

}  // namespace ratelimit::planning
