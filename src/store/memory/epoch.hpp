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

namespace detail {
/// The calling thread's reader slot in the global domain, or one of
/// EpochDomain's sentinels. Trivially destructible so that reading it on every
/// decision is one TLS load; the slot is given back at thread exit by an
/// object the first Guard of the thread registers (epoch.cpp).
inline thread_local std::uint32_t t_epoch_slot = ~std::uint32_t{1};
}  // namespace detail

class EpochDomain {
 public:
  /// Process-wide domain shared by every MemoryStore.
  static EpochDomain& global() {
    static EpochDomain* const domain = new EpochDomain();  // never destroyed: threads may outlive statics
    return *domain;
  }

  static constexpr std::uint32_t kMaxSlots = 256;
  /// t_epoch_slot before the thread's first Guard.
  static constexpr std::uint32_t kUnclaimed = ~std::uint32_t{1};
  /// t_epoch_slot of a thread that found every slot taken (or has exited).
  static constexpr std::uint32_t kNoSlot = ~std::uint32_t{0};

  /// Marks the calling thread as reading shared memory until destroyed. Nests.
  /// Inline: every decision enters and leaves one.
  class Guard {
   public:
    explicit Guard(EpochDomain& domain = global()) noexcept : domain_(domain), slot_(detail::t_epoch_slot) {
      if (slot_ >= kMaxSlots) [[unlikely]] {
        slot_ = domain.enter_without_slot();
        if (slot_ == kNoSlot) return;
      }
      Slot& s = domain.slots_[slot_];
      if (s.depth++ > 0) return;
      const std::uint64_t e = domain.epoch_.load(std::memory_order_acquire);
      if (domain.asymmetric_) {
        s.epoch.store(e, std::memory_order_relaxed);
        std::atomic_signal_fence(std::memory_order_seq_cst);
      } else {
        s.epoch.exchange(e, std::memory_order_seq_cst);  // a full barrier on its own
      }
    }
    ~Guard() {
      if (slot_ == kNoSlot) [[unlikely]] {
        domain_.overflow_readers_.fetch_sub(1, std::memory_order_release);
        return;
      }
      Slot& s = domain_.slots_[slot_];
      if (--s.depth > 0) return;
      s.epoch.store(0, std::memory_order_release);
    }
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

  // A Guard's slow path: claims the thread's slot on its first Guard and
  // returns it; with every slot taken, counts the thread as an overflow reader
  // (which blocks all reclamation while inside) and returns kNoSlot.
  std::uint32_t enter_without_slot() noexcept;
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
