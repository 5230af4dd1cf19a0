#include "store/memory/epoch.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <limits>

#if defined(__SANITIZE_THREAD__)
#define RATELIMIT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RATELIMIT_TSAN 1
#endif
#endif

namespace ratelimit::memory {

namespace {

constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

bool register_membarrier() noexcept {
#if defined(RATELIMIT_TSAN)
  return false;
#else
  return ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

}  // namespace

// The calling thread's slot in the global domain; released at thread exit.
struct ThreadSlot {
  std::uint32_t index = kNoSlot;
  bool tried = false;
  ~ThreadSlot() {
    if (index != kNoSlot) EpochDomain::global().release_slot(index);
  }
};

namespace {
thread_local ThreadSlot t_slot;
}  // namespace

EpochDomain& EpochDomain::global() {
  static EpochDomain* domain = new EpochDomain();  // never destroyed: threads may outlive statics
  return *domain;
}

EpochDomain::EpochDomain() : asymmetric_(register_membarrier()) {}

std::uint32_t EpochDomain::claim_slot() noexcept {
  for (std::uint32_t i = 0; i < kMaxSlots; ++i) {
    bool expected = false;
    if (!slots_[i].claimed.load(std::memory_order_relaxed) &&
        slots_[i].claimed.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      std::uint32_t hw = high_water_.load(std::memory_order_relaxed);
      while (hw < i + 1 && !high_water_.compare_exchange_weak(hw, i + 1, std::memory_order_acq_rel)) {
      }
      return i;
    }
  }
  return kNoSlot;
}

void EpochDomain::release_slot(std::uint32_t slot) noexcept {
  slots_[slot].epoch.store(0, std::memory_order_release);
  slots_[slot].claimed.store(false, std::memory_order_release);
}

EpochDomain::Guard::Guard(EpochDomain& domain) noexcept : domain_(domain) {
  ThreadSlot& ts = t_slot;
  if (ts.index == kNoSlot && !ts.tried) {
    ts.tried = true;
    ts.index = domain.claim_slot();
  }
  slot_ = ts.index;
  if (slot_ == kNoSlot) {
    // More threads than slots: counted readers block all reclamation while inside.
    domain.overflow_readers_.fetch_add(1, std::memory_order_seq_cst);
    return;
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

EpochDomain::Guard::~Guard() {
  if (slot_ == kNoSlot) {
    domain_.overflow_readers_.fetch_sub(1, std::memory_order_release);
    return;
  }
  Slot& s = domain_.slots_[slot_];
  if (--s.depth > 0) return;
  s.epoch.store(0, std::memory_order_release);
}

void EpochDomain::heavy_barrier() noexcept {
  if (asymmetric_) {
    ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  } else {
#if defined(RATELIMIT_TSAN)
    epoch_.fetch_add(0, std::memory_order_seq_cst);  // TSan rejects standalone fences
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  }
}

void EpochDomain::retire(void* object, void (*deleter)(void*)) {
  {
    std::lock_guard lock(retired_mu_);
    // Readers that start after this increment cannot reach `object`.
    retired_.push_back({epoch_.fetch_add(1, std::memory_order_acq_rel), object, deleter});
  }
  reclaim();
}

std::size_t EpochDomain::reclaim() {
  std::vector<Retired> ready;
  std::size_t pending = 0;
  {
    std::lock_guard lock(retired_mu_);
    if (retired_.empty()) return 0;
    heavy_barrier();
    if (overflow_readers_.load(std::memory_order_acquire) > 0) return retired_.size();
    std::uint64_t oldest_active = std::numeric_limits<std::uint64_t>::max();
    const std::uint32_t hw = high_water_.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < hw; ++i) {
      const std::uint64_t e = slots_[i].epoch.load(std::memory_order_acquire);
      if (e != 0) oldest_active = std::min(oldest_active, e);
    }
    // An object retired at epoch r may be seen by readers that entered at r or before.
    auto keep = std::partition(retired_.begin(), retired_.end(),
                               [&](const Retired& r) { return r.epoch >= oldest_active; });
    ready.assign(keep, retired_.end());
    retired_.erase(keep, retired_.end());
    pending = retired_.size();
  }
  for (const Retired& r : ready) r.deleter(r.object);
  return pending;
}

}  // namespace ratelimit::memory
