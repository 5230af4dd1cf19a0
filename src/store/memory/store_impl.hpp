#pragma once
// MemoryStore's internals, shared by the files that implement it (never
// installed): the shard, the slot lifecycle (insert, kill, rebuild, evict,
// sweep), and the two decision paths.
//
// Paths, from hot to cold:
// - single check, fixed-size state (single_decision.cpp): find the slot
//   without locks, step the algorithm on a snapshot, compare-and-swap the
//   result in (retry on conflict);
// - several checks, or sliding_log (locked_decision.cpp): lock the slots (a
//   flag in the state word) in address order, decide all, then write all or
//   restore all;
// - new key, rebuild, sweep, eviction (shard_lifecycle.cpp): under the
//   shard's mutex.
// Readers hold an epoch guard so that tables replaced by a rebuild are freed
// only when no reader can still be probing them.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "ratelimit/memory_store.hpp"
#include "store/memory/epoch.hpp"
#include "store/memory/slot_table.hpp"

namespace ratelimit {

namespace memory {

inline constexpr std::size_t kMinCapacity = 16;
inline constexpr double kMaxLoad = 0.80;     // rebuild when occupied (incl. tombstones) passes this
inline constexpr double kTargetLoad = 0.55;  // load right after a rebuild
inline constexpr std::size_t kLazySweepSlots = 2;
inline constexpr std::size_t kEvictionSample = 16;
inline constexpr Micros kFullSweepInterval = 100 * kMicrosPerMilli;
// An insert-path rebuild this soon after the shard's previous rebuild finds
// keys arriving faster than the table turns over: it keeps the capacity (and
// doubles a table below kChurnCapacity slots if the rebuild reclaims at least
// as many slots as it keeps), so a shard whose keys expire between visits is
// not rebuilt every few inserts. A later, quiet rebuild may halve the table;
// sweep() shrinks sparse tables to fit. Doubling stops at kChurnCapacity
// because rebuilds every ~1,000 inserts already amortize their fixed cost
// (allocation, epoch retirement); beyond it only live keys grow a table.
inline constexpr Micros kBusyRebuildInterval = 100 * kMicrosPerMilli;
inline constexpr std::size_t kChurnCapacity = 2048;

inline void cpu_relax(unsigned& spins) noexcept {
  if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  } else {
    std::this_thread::yield();
  }
}

// Result of stepping an algorithm over packed words.
struct PackedStep {
  Decision decision;
  Words next;
};

// One step for the fixed-size-state algorithms (not sliding_log). Always
// inlined: it sits inside the compare-and-swap loop of every decision.
[[gnu::always_inline]] inline PackedStep step_packed(const LimitSpec& spec, Words w, Micros now,
                                                     std::int64_t cost) noexcept {
  switch (spec.algorithm()) {
    case Algorithm::token_bucket: {
      auto r = algo::token_bucket::step(spec, memory::decode_token_bucket(w), now, cost);
      return {r.decision, memory::encode(r.next)};
    }
    case Algorithm::gcra: {
      auto r = algo::gcra::step(spec, memory::decode_gcra(w), now, cost);
      return {r.decision, memory::encode(r.next)};
    }
    case Algorithm::leaky_bucket: {
      auto r = algo::leaky_bucket::step(spec, memory::decode_leaky_bucket(w), now, cost);
      return {r.decision, memory::encode(r.next)};
    }
    case Algorithm::fixed_window: {
      auto r = algo::fixed_window::step(spec, memory::decode_fixed_window(w), now, cost);
      return {r.decision, memory::encode(r.next)};
    }
    case Algorithm::sliding_window: {
      auto r = algo::sliding_window::step(spec, memory::decode_sliding_window(w), now, cost);
      return {r.decision, memory::encode(r.next)};
    }
    case Algorithm::sliding_log:
      break;
  }
  return {};
}

// Words of a new key (sliding_log: an empty log the caller owns).
inline Words fresh_words(const LimitSpec& spec, Micros now) {
  switch (spec.algorithm()) {
    case Algorithm::token_bucket:
      return memory::encode(algo::token_bucket::fresh(now));
    case Algorithm::gcra:
      return memory::encode(algo::gcra::fresh(now));
    case Algorithm::leaky_bucket:
      return memory::encode(algo::leaky_bucket::fresh(now));
    case Algorithm::fixed_window:
      return memory::encode(algo::fixed_window::fresh(spec, now));
    case Algorithm::sliding_window:
      return memory::encode(algo::sliding_window::fresh(spec, now));
    case Algorithm::sliding_log: {
      auto* log = new algo::sliding_log::State();
      return {memory::published(0),
              static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(log))};
    }
  }
  return {};
}

inline void free_log_if_any(Algorithm a, Words w) noexcept {
  if (a == Algorithm::sliding_log) delete memory::log_of(w);
}

// Whether a state has expired by `bound` (equals a new key from then on).
inline bool expired_by(Algorithm a, Words w, Micros bound) noexcept {
  return memory::expires_at(a, w) <= bound;
}

inline std::size_t round_up_pow2(std::size_t v) noexcept {
  std::size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// A table and everything only it referenced, freed together once no reader
// can hold it.
struct RetiredTable {
  Table* table;
  std::vector<memory::LongKey*> keys;
  static void destroy(void* p) noexcept {
    auto* r = static_cast<RetiredTable*>(p);
    for (auto* k : r->keys) memory::LongKey::destroy(k);
    Table::destroy(r->table);
    delete r;
  }
};

struct alignas(64) Shard {
  std::atomic<Table*> table{nullptr};
  std::mutex mu;
  // Guarded by mu.
  std::size_t used = 0;  // slots published in `table`, tombstones included
  std::size_t cursor = 0;
  Micros last_full_sweep = -kFullSweepInterval;  // instants are >= 0: the first check sweeps
  Micros last_rebuild = -kBusyRebuildInterval;
  // Written by killers outside mu too.
  std::atomic<std::size_t> live{0};
  std::atomic<std::uint64_t> expired_dropped{0};
  std::atomic<std::uint64_t> overflow{0};
  std::atomic<std::uint64_t> evicted{0};
};

// Table rebuilds by every MemoryStore of the process, so far (tests check
// that rebuilds stay amortized). Thread-safe; a snapshot.
[[nodiscard]] std::uint64_t table_rebuilds_for_test() noexcept;

// Where one check's state lives, resolved for a locked decision.
struct Resolved {
  Words* slot = nullptr;   // null: absent key (decided on a fresh state)
  Table* table = nullptr;  // the table `slot` belongs to
  Words held{};            // the words as locked
};

}  // namespace memory

// The internals use the memory namespace freely (this header is private).
using memory::cpu_relax;
using memory::EpochDomain;
using memory::expired_by;
using memory::free_log_if_any;
using memory::fresh_words;
using memory::hash_key;
using memory::kBusyRebuildInterval;
using memory::kChurnCapacity;
using memory::kEvictionSample;
using memory::KeyHash;
using memory::kFullSweepInterval;
using memory::kLazySweepSlots;
using memory::kMaxLoad;
using memory::kMinCapacity;
using memory::kTargetLoad;
using memory::Meta;
using memory::PackedStep;
using memory::Resolved;
using memory::RetiredTable;
using memory::round_up_pow2;
using memory::Shard;
using memory::step_packed;
using memory::Table;
using memory::Words;

struct MemoryStore::Impl {
  explicit Impl(MemoryStoreOptions o);

  ~Impl();

  Shard& shard_of(KeyHash h) noexcept { return shards[shard_index(h)]; }
  std::size_t shard_index(KeyHash h) const noexcept {
    return shard_bits == 0 ? 0 : static_cast<std::size_t>(h.value >> (64 - shard_bits));
  }

  // --- Slot lifecycle (shard_lifecycle.cpp) ---------------------------------

  // Marks slot `i` of `t` dead if it is live; waits out a lock holder.
  // Returns false if it was already dead or is being rebuilt.
  static bool kill(Shard& sh, Table* t, std::size_t i, Micros bound = -1);

  // Drops slots expired by `bound` in [from, from+count) (wrapping); returns how many.
  static std::size_t sweep_range(Shard& sh, Table* t, std::size_t from, std::size_t count,
                                 Micros bound);

  // How a rebuild sizes the new table, beyond room for the slots it keeps.
  enum class Resize {
    // Insert path: no smaller than the old table while the shard is busy
    // (kBusyRebuildInterval), twice as large if most slots were reclaimed and
    // it is below kChurnCapacity; otherwise no smaller than half the old
    // table. A rebuild leaves the table at most 55% full and the next one
    // comes at 80%, so each rebuild of C slots follows about C/4 inserts:
    // amortized O(1) per insert.
    amortized,
    // sweep(): the old capacity, unless fewer than 1/8 of it stays live, then fit.
    compact,
  };

  // Copies live slots not expired by `now` into a new table with room for
  // `extra` more (sized by `resize`); the old table is retired. Caller holds sh.mu.
  void rebuild(Shard& sh, Micros now, std::size_t extra, Resize resize);

  // Makes room for one more key when the shard holds its share of max_keys
  // (`reserved` more keys are about to be published by the caller). Returns 0
  // if there is room now, else the retry_after of a rejection. Caller holds sh.mu.
  // Never evicts the slots of `protect` (the other keys of the caller's decision).
  Micros make_room(Shard& sh, Table* t, Micros now, std::size_t reserved = 0,
                   std::span<const Resolved> protect = {});

  enum class InsertOutcome { inserted, exists, rejected };
  struct Insert {
    InsertOutcome outcome;
    Micros retry_after = 0;
  };

  // Publishes `initial` for `key` unless a live slot for it exists. On any
  // outcome other than `inserted`, a sliding_log `initial` is freed here.
  Insert insert(Shard& sh, KeyHash h, std::string_view key, Algorithm a, Words initial, Micros now);

  // Rebuilds the shard's table if `count` more keys would load it past
  // kMaxLoad; returns the table to publish them in. Caller holds sh.mu.
  Table* reserve_slots(Shard& sh, std::size_t count, Micros now);

  // Publishes a new slot for `key` (absent from `t`, which has room) holding
  // `initial`. Caller holds sh.mu.
  static void publish_new(Shard& sh, Table* t, KeyHash h, std::string_view key, Algorithm a,
                          Words initial);

  // Waits until the shard publishes a table other than `t` (a rebuild is in progress).
  static void await_rebuild(Shard& sh, Table* t);

  // Replaces a live slot whose algorithm differs from the check's: the old
  // state means nothing to the new algorithm.
  static void drop_mismatched(Shard& sh, Table* t, std::size_t i);

  static Decision overflow_decision(const LimitSpec& spec, Micros retry_after) noexcept {
    Decision d;
    d.limit = spec.reported_limit();
    d.retry_after = retry_after;
    return d;
  }

  std::size_t sweep(Micros now);
  void start_sweeper(const Clock& clock, std::chrono::milliseconds interval);
  void stop_sweeper();

  // --- Single check, lock-free (single_decision.cpp) ------------------------

  Decision decide_single(const Check& c, KeyHash h, std::int64_t cost, Micros now);

  // --- Several checks (or sliding_log), locked ------------------------------
  //
  // Lock order, the same for every thread: shard mutexes (ascending shard
  // index), then slot locks (ascending address). Nothing that holds a slot
  // lock waits for a mutex, and a rebuild (which holds its shard's mutex and
  // waits for slot locks) only waits for decisions that wait for nothing.
  //
  // New keys are never published before the decision is made: a charging
  // decision that meets an absent key holds the mutex of the key's shard
  // (so no one else can insert it, and no rebuild can move the slots there),
  // makes room and capacity for it, decides on a fresh state, and publishes
  // the key only if it commits. A denied or peeking decision leaves no trace.

  // The mutexes of the shards a decision inserts into, held in index order.
  class ShardLocks {
   public:
    explicit ShardLocks(Impl& impl) : impl_(impl) {}
    ~ShardLocks() { release(); }
    ShardLocks(const ShardLocks&) = delete;
    ShardLocks& operator=(const ShardLocks&) = delete;

    void acquire(std::span<const std::size_t> shard_indexes) {
      std::copy(shard_indexes.begin(), shard_indexes.end(), held_.begin());
      count_ = shard_indexes.size();
      std::sort(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(count_));
      count_ = static_cast<std::size_t>(
          std::unique(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(count_)) -
          held_.begin());
      for (std::size_t i = 0; i < count_; ++i) impl_.shards[held_[i]].mu.lock();
    }
    void release() {
      for (std::size_t i = count_; i > 0; --i) impl_.shards[held_[i - 1]].mu.unlock();
      count_ = 0;
    }
    [[nodiscard]] bool holds(std::size_t shard_index) const {
      return std::find(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(count_),
                       shard_index) != held_.begin() + static_cast<std::ptrdiff_t>(count_);
    }

   private:
    Impl& impl_;
    std::array<std::size_t, Store::kMaxChecks> held_{};
    std::size_t count_ = 0;
  };

  // Finds every check's slot in its shard's current table; absent keys get a
  // null slot. Replaces states whose algorithm differs from the check's.
  void find_all(std::span<const Check> checks, std::span<const KeyHash> hashes,
                std::span<Resolved> out, const ShardLocks& held);

  // Locks every found slot in address order. Returns false, holding nothing,
  // if a slot was deleted or is being moved by a rebuild (then the caller
  // starts over; a rebuild is waited out first).
  bool lock_found(std::span<Resolved> res, std::span<const KeyHash> hashes, ShardLocks& held);

  static void unlock_found(std::span<Resolved> res,
                           const std::array<std::size_t, Store::kMaxChecks>& order,
                           std::size_t count);

  // For a charging decision with absent keys: holds their shards' mutexes and
  // makes room and capacity for them (marking them `prepared`). Only absent
  // keys charged something (`costs[k] > 0`) are inserted. Returns 0, or the
  // retry_after of a max_keys rejection (then `rejected` is the check's
  // index). `held` must hold nothing on entry.
  Micros prepare_inserts(std::span<const Check> checks, std::span<const KeyHash> hashes,
                         std::span<const std::int64_t> costs, std::span<const Resolved> res,
                         Micros now, ShardLocks& held,
                         std::array<bool, Store::kMaxChecks>& prepared, std::size_t& rejected);

  Decision decide_locked(std::span<const Check> checks, std::span<const KeyHash> hashes,
                         std::int64_t cost, Micros now, std::span<Decision> each);

  static Decision overflow(std::span<const Check> checks, std::size_t rejected, Micros retry,
                           std::span<Decision> each);

  // Decides every check k on its locked (or fresh) state with its effective
  // cost costs[k]; if all admit, writes the new state of every check charged
  // something and publishes its new keys (their shards' mutexes are held);
  // unlocks everything either way.
  void decide_and_commit(std::span<const Check> checks, std::span<const KeyHash> hashes,
                         std::span<const std::int64_t> costs, Micros now, std::span<Decision> each,
                         std::span<Resolved> res);

  MemoryStoreOptions options;
  // Per-store hash seed, so clients cannot precompute colliding keys.
  const std::uint64_t seed = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  unsigned shard_bits = 0;
  std::size_t shard_count = 0;
  std::size_t per_shard_max = 0;
  std::unique_ptr<Shard[]> shards;

  std::mutex sweeper_mu;
  std::condition_variable sweeper_cv;
  bool stop_requested = false;
  std::thread sweeper;
};

}  // namespace ratelimit
