// The in-process AttributeStore: a sorted map under one mutex. Records are
// few and change rarely, and readers poll `generation` (an atomic, no lock)
// before they list, so one lock is enough.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/request_validation.hpp"
#include "ratelimit/attribute_store.hpp"
#include "store/attribute_validation.hpp"

namespace ratelimit {

namespace {

class MemoryAttributeStore final : public AttributeStore {
 public:
  std::optional<Record> get(std::string_view key, Micros now) override {
    validate_attribute_key(key);
    validate_instant(now);
    std::lock_guard lock(mu_);
    const auto it = records_.find(key);
    if (it == records_.end() || !live(it->second, now)) return std::nullopt;
    return Record{it->first, it->second.value, it->second.expires_at};
  }

  void put(const Record& record) override {
    validate_attribute_record(record);
    std::lock_guard lock(mu_);
    Entry& e = records_[record.key];
    e.value = record.value;
    e.expires_at = record.expires_at;
    advance();
  }

  bool erase(std::string_view key, Micros now) override {
    validate_attribute_key(key);
    validate_instant(now);
    std::lock_guard lock(mu_);
    const auto it = records_.find(key);
    if (it == records_.end()) return false;
    // An expired record is already invisible: deleting it changes nothing a
    // reader can see, so the generation stays.
    const bool was_live = live(it->second, now);
    records_.erase(it);
    if (was_live) advance();
    return was_live;
  }

  std::vector<Record> list(std::string_view prefix, Micros now) override {
    validate_instant(now);
    std::vector<Record> out;
    std::lock_guard lock(mu_);
    for (auto it = records_.lower_bound(prefix);
         it != records_.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix;
         ++it) {
      if (live(it->second, now))
        out.push_back(Record{it->first, it->second.value, it->second.expires_at});
    }
    return out;
  }

  std::size_t purge_expired(Micros now) override {
    validate_instant(now);
    std::lock_guard lock(mu_);
    const std::size_t purged =
        std::erase_if(records_, [now](const auto& kv) { return !live(kv.second, now); });
    if (purged > 0) advance();
    return purged;
  }

  std::uint64_t generation() override { return generation_.load(std::memory_order_acquire); }

 private:
  struct Entry {
    std::string value;
    std::optional<Micros> expires_at;
  };

  static bool live(const Entry& e, Micros now) noexcept {
    return !e.expires_at || *e.expires_at > now;
  }

  // Called with mu_ held, after the change: a reader that sees the new
  // generation and then lists (taking mu_) sees the change.
  void advance() noexcept { generation_.fetch_add(1, std::memory_order_release); }

  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> records_;  // guarded by mu_
  std::atomic<std::uint64_t> generation_{0};           // written with mu_ held
};

}  // namespace

std::unique_ptr<AttributeStore> make_memory_attribute_store() {
  return std::make_unique<MemoryAttributeStore>();
}

}  // namespace ratelimit
