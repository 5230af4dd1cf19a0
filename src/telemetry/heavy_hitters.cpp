#include "ratelimit/telemetry/heavy_hitters.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

#include "clip.hpp"

namespace ratelimit::telemetry {

namespace {

std::string_view clip(std::string_view id) noexcept {
  return detail::clip_utf8(id, HeavyHitters::kMaxIdBytes);
}

std::uint64_t hash_of(std::string_view id) noexcept { return std::hash<std::string_view>{}(id); }

}  // namespace

std::size_t HeavyHitters::find(std::uint64_t hash, std::string_view id) const noexcept {
  for (std::size_t i = 0; i < size_; ++i) {
    const Entry& e = entries_[i];
    if (e.hash == hash && e.view() == id) return i;
  }
  return kCapacity;
}

void HeavyHitters::decrement_all(std::uint64_t amount) noexcept {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < size_; ++i) {
    Entry& e = entries_[i];
    kept_ -= std::min(e.count, amount);
    if (e.count <= amount) continue;
    e.count -= amount;
    if (kept != i) entries_[kept] = e;
    ++kept;
  }
  size_ = kept;
}

void HeavyHitters::add(std::string_view raw, std::uint64_t weight) noexcept {
  if (weight == 0) return;
  const std::string_view id = clip(raw);
  const std::uint64_t hash = hash_of(id);
  total_ += weight;
  if (const std::size_t found = find(hash, id); found != kCapacity) {
    entries_[found].count += weight;
    kept_ += weight;
    return;
  }
  std::uint64_t count = weight;
  if (size_ == kCapacity) {
    // The newcomer is the (k+1)-th counter: take the smallest of all k+1
    // off every one of them (Misra-Gries); at least one slot frees up
    // unless the newcomer itself drops to zero.
    std::uint64_t smallest = weight;
    for (std::size_t i = 0; i < size_; ++i) smallest = std::min(smallest, entries_[i].count);
    decrement_all(smallest);
    count -= smallest;
    if (count == 0) return;
  }
  Entry& e = entries_[size_++];
  e.hash = hash;
  e.count = count;
  e.length = static_cast<std::uint8_t>(id.size());
  if (!id.empty()) std::memcpy(e.id.data(), id.data(), id.size());  // "" may have no data()
  kept_ += count;
}

void HeavyHitters::merge(const HeavyHitters& other) {
  // Sum the counters of both, then (when more than k remain) take the
  // (k+1)-th largest off all of them: the mergeable Misra-Gries step, which
  // keeps error <= (N - kept) / (k + 1).
  std::vector<Entry> all(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(size_));
  for (std::size_t i = 0; i < other.size_; ++i) {
    const Entry& theirs = other.entries_[i];
    auto same = std::find_if(all.begin(), all.end(), [&](const Entry& e) {
      return e.hash == theirs.hash && e.view() == theirs.view();
    });
    if (same != all.end()) {
      same->count += theirs.count;
    } else {
      all.push_back(theirs);
    }
  }
  std::uint64_t cut = 0;
  if (all.size() > kCapacity) {
    std::nth_element(all.begin(), all.begin() + kCapacity, all.end(),
                     [](const Entry& a, const Entry& b) { return a.count > b.count; });
    cut = all[kCapacity].count;
  }
  total_ += other.total_;
  size_ = 0;
  kept_ = 0;
  for (const Entry& e : all) {
    if (e.count <= cut) continue;
    entries_[size_] = e;
    entries_[size_].count -= cut;
    kept_ += entries_[size_].count;
    ++size_;
  }
}

void HeavyHitters::clear() noexcept {
  size_ = 0;
  total_ = 0;
  kept_ = 0;
}

std::uint64_t HeavyHitters::error_bound() const noexcept {
  return (total_ - kept_) / (kCapacity + 1);
}

std::uint64_t HeavyHitters::estimate(std::string_view raw) const noexcept {
  const std::string_view id = clip(raw);
  const std::size_t found = find(hash_of(id), id);
  return found == kCapacity ? 0 : entries_[found].count;
}

std::vector<HeavyHitters::Item> HeavyHitters::top(std::size_t k) const {
  std::vector<Item> items;
  items.reserve(size_);
  for (std::size_t i = 0; i < size_; ++i)
    items.push_back({std::string(entries_[i].view()), entries_[i].count});
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.count != b.count ? a.count > b.count : a.id < b.id;
  });
  if (items.size() > k) items.resize(k);
  return items;
}

}  // namespace ratelimit::telemetry
