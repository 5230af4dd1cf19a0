#pragma once
// Epoch-based reclamation for the memory store's lock-free readers.
//
// Readers (every decision) enter a critical section by publishing the current
// global epoch in a per-thread slot, and leave by clearing it. Memory that a
// reader may still see (a shard's table after a rehash, an out-of-line key)
// is retired with the epoch at which it was unlinked and freed only once no
// thread is inside a section that began at or before that epoch.
//
// The store-load ordering a reader needs (publish slot, then read shared
// pointers) is provided asymmetrically: the rare reclaimer issues
// membarrier(PRIVATE_EXPEDITED), which forces a full barrier on every running
// thread, so readers need only a compiler barrier. Without membarrier (or
// under ThreadSanitizer, which cannot see it) readers use a seq_cst fence.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace ratelimit::memory {

class EpochDomain {
 public:
  /// Process-wide domain shared by every MemoryStore.
  static EpochDomain& global();

  /// Marks the calling thread as reading shared memory until destroyed. Nests.
  class Guard {
   public:
    explicit Guard(EpochDomain& domain = global()) noexcept;
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    EpochDomain& domain_;
    std::uint32_t slot_;
  };

  /// Frees `object` with `deleter` once no reader can hold it. The caller has
  /// already unlinked it from every shared structure. Thread-safe.
  void retire(void* object, void (*deleter)(void*));

  /// Frees whatever can be freed now; returns how many objects remain pending.
  std::size_t reclaim();

  static constexpr std::uint32_t kMaxSlots = 256;

 private:
  EpochDomain();
  friend class Guard;
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> epoch{0};  // 0: quiescent
    std::atomic<bool> claimed{false};
    std::uint32_t depth = 0;              // owned by the claiming thread
  };
  struct Retired {
    std::uint64_t epoch;
    void* object;
    void (*deleter)(void*);
  };

  std::uint32_t claim_slot() noexcept;
  void release_slot(std::uint32_t slot) noexcept;
  void heavy_barrier() noexcept;
  friend struct ThreadSlot;

  std::atomic<std::uint64_t> epoch_{1};
  std::atomic<std::uint32_t> high_water_{0};
  std::atomic<std::uint32_t> overflow_readers_{0};  // threads beyond kMaxSlots
  bool asymmetric_ = false;
  Slot slots_[kMaxSlots];
  std::mutex retired_mu_;
  std::vector<Retired> retired_;
};

}  // namespace ratelimit::memory
