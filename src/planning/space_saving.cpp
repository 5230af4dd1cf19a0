#include "ratelimit/planning/space_saving.hpp"

#include <algorithm>
#include <stdexcept>

namespace ratelimit::planning {

SpaceSaving::SpaceSaving(std::size_t capacity) : capacity_(capacity) {
  if (capacity == 0) throw std::invalid_argument("SpaceSaving capacity must be positive");
  heap_.reserve(capacity);
  index_.reserve(capacity);
}

void SpaceSaving::swap_slots(std::size_t a, std::size_t b) {
  std::swap(heap_[a], heap_[b]);
  index_.find(heap_[a].key)->second = a;
  index_.find(heap_[b].key)->second = b;
}

void SpaceSaving::sift_down(std::size_t i) {
  for (;;) {
    const std::size_t l = 2 * i + 1, r = l + 1;
    std::size_t smallest = i;
    if (l < heap_.size() && heap_[l].count < heap_[smallest].count) smallest = l;
    if (r < heap_.size() && heap_[r].count < heap_[smallest].count) smallest = r;
    if (smallest == i) return;
    swap_slots(i, smallest);
    i = smallest;
  }
}

void SpaceSaving::add(std::string_view key) {
  ++total_;
  if (const auto it = index_.find(key); it != index_.end()) {
    ++heap_[it->second].count;  // grew: may now be larger than its children
    sift_down(it->second);
    return;
  }
  if (heap_.size() < capacity_) {
    // New counters start at 1, the smallest possible: the root or a leaf
    // equal to it, so appending keeps the heap order.
    heap_.push_back(Entry{std::string(key), 1, 0});
    index_.emplace(std::string(key), heap_.size() - 1);
    for (std::size_t i = heap_.size() - 1; i > 0 && heap_[(i - 1) / 2].count > heap_[i].count;
         i = (i - 1) / 2) {
      swap_slots(i, (i - 1) / 2);
    }
    return;
  }
  // Replace the minimum: the new key inherits its count as the error bound.
  Entry& root = heap_[0];
  index_.erase(root.key);
  root.error = root.count;
  ++root.count;
  root.key.assign(key);
  index_.emplace(root.key, 0);
  sift_down(0);
}

std::vector<SpaceSaving::Entry> SpaceSaving::top(std::size_t n) const {
  std::vector<Entry> out = heap_;
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace ratelimit::planning
