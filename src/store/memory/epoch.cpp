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

bool register_membarrier() noexcept {
#if defined(RATELIMIT_TSAN)
  return false;
#else
  return ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

}  // namespace

// Gives the thread's slot back at thread exit. Registered by the thread's
// first Guard (a thread_local with a destructor costs a TLS-init check on
// every access, so the hot path reads detail::t_epoch_slot instead).
struct ThreadSlot {
  std::uint32_t index = EpochDomain::kNoSlot;
  ~ThreadSlot();
};

namespace {
thread_local ThreadSlot t_release;
}  // namespace

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

ThreadSlot::~ThreadSlot() {
  // Guards that run after this (other thread_local destructors) go the overflow way.
  detail::t_epoch_slot = EpochDomain::kNoSlot;
  if (index != EpochDomain::kNoSlot) EpochDomain::global().release_slot(index);
}

void EpochDomain::release_slot(std::uint32_t slot) noexcept {
  slots_[slot].epoch.store(0, std::memory_order_release);
  slots_[slot].claimed.store(false, std::memory_order_release);
}

std::uint32_t EpochDomain::enter_without_slot() noexcept {
  if (detail::t_epoch_slot == kUnclaimed) {
    const std::uint32_t slot = claim_slot();
    detail::t_epoch_slot = slot;
    if (slot != kNoSlot) {
      t_release.index = slot;
      return slot;
    }
  }
  overflow_readers_.fetch_add(1, std::memory_order_seq_cst);
  return kNoSlot;
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
