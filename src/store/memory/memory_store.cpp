// MemoryStore: sharded open-addressing tables of 16-byte states.
//
// Paths, from hot to cold:
// - single check, fixed-size state: find the slot without locks, step the
//   algorithm on a snapshot, compare-and-swap the result in (retry on conflict);
// - several checks, or sliding_log: lock the slots (a flag in the state word)
//   in address order, decide all, then write all or restore all;
// - new key, rebuild, sweep, eviction: under the shard's mutex.
// Readers hold an epoch guard so that tables replaced by a rebuild are freed
// only when no reader can still be probing them.

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "ratelimit/memory_store.hpp"
#include "store/memory/epoch.hpp"
#include "store/memory/slot_table.hpp"

namespace ratelimit {

using memory::EpochDomain;
using memory::hash_key;
using memory::KeyHash;
using memory::Meta;
using memory::Table;
using memory::Words;

namespace {

constexpr std::size_t kMinCapacity = 16;
constexpr double kMaxLoad = 0.80;        // rebuild when occupied (incl. tombstones) passes this
constexpr double kTargetLoad = 0.55;     // load right after a rebuild
constexpr std::size_t kLazySweepSlots = 2;
constexpr std::size_t kEvictionSample = 16;
constexpr Micros kFullSweepInterval = 100 * kMicrosPerMilli;

void cpu_relax(unsigned& spins) noexcept {
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
[[gnu::always_inline]] inline PackedStep step_packed(const LimitSpec& spec, Words w, Micros now, std::int64_t cost) noexcept {
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
    case Algorithm::sliding_log: break;
  }
  return {};
}

// Words of a new key (sliding_log: an empty log the caller owns).
Words fresh_words(const LimitSpec& spec, Micros now) {
  switch (spec.algorithm()) {
    case Algorithm::token_bucket: return memory::encode(algo::token_bucket::fresh(now));
    case Algorithm::gcra: return memory::encode(algo::gcra::fresh(now));
    case Algorithm::leaky_bucket: return memory::encode(algo::leaky_bucket::fresh(now));
    case Algorithm::fixed_window: return memory::encode(algo::fixed_window::fresh(spec, now));
    case Algorithm::sliding_window: return memory::encode(algo::sliding_window::fresh(spec, now));
    case Algorithm::sliding_log: {
      auto* log = new algo::sliding_log::State();
      return {memory::published(0), static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(log))};
    }
  }
  return {};
}

void free_log_if_any(Algorithm a, Words w) noexcept {
  if (a == Algorithm::sliding_log) delete memory::log_of(w);
}

// Whether a state has expired by `bound` (equals a new key from then on).
bool expired_by(Algorithm a, Words w, Micros bound) noexcept { return memory::expires_at(a, w) <= bound; }


std::size_t round_up_pow2(std::size_t v) noexcept {
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
  // Written by killers outside mu too.
  std::atomic<std::size_t> live{0};
  std::atomic<std::uint64_t> expired_dropped{0};
  std::atomic<std::uint64_t> overflow{0};
  std::atomic<std::uint64_t> evicted{0};
};

// Where one check's state lives, resolved for a locked decision.
struct Resolved {
  Words* slot = nullptr;   // null: absent key (decided on a fresh state)
  Table* table = nullptr;  // the table `slot` belongs to
  Words held{};            // the words as locked
};

}  // namespace

struct MemoryStore::Impl {
  explicit Impl(MemoryStoreOptions o) : options(o) {
    const std::size_t n = std::clamp<std::size_t>(round_up_pow2(std::max<std::size_t>(1, o.shards)), 1, 4096);
    shard_bits = static_cast<unsigned>(std::countr_zero(n));
    shard_count = n;
    shards = std::make_unique<Shard[]>(n);
    per_shard_max = o.max_keys == 0 ? 0 : (o.max_keys + n - 1) / n;
    for (std::size_t i = 0; i < n; ++i) shards[i].table.store(Table::create(kMinCapacity));
  }

  ~Impl() {
    stop_sweeper();
    for (std::size_t s = 0; s < shard_count; ++s) {
      Table* t = shards[s].table.load();
      for (std::size_t i = 0; i < t->capacity(); ++i) {
        const Words w = memory::load_words(t->state(i));
        if (w.w0 == 0) continue;
        const Meta& m = t->meta(i);
        if ((w.w0 & memory::kDead) == 0) free_log_if_any(m.algorithm, w);
        if (m.length == memory::kLongKey) memory::LongKey::destroy(m.long_key());
      }
      Table::destroy(t);
    }
    EpochDomain::global().reclaim();
  }

  Shard& shard_of(KeyHash h) noexcept {
    return shard_bits == 0 ? shards[0] : shards[h.value >> (64 - shard_bits)];
  }

  // --- Killing and rebuilding (slot lifecycle) ------------------------------

  // Marks slot `i` of `t` dead if it is live; waits out a lock holder.
  // Returns false if it was already dead or is being rebuilt.
  static bool kill(Shard& sh, Table* t, std::size_t i, Micros bound = -1) {
    Words* p = t->state(i);
    Words cur = memory::load_words(p);
    unsigned spins = 0;
    for (;;) {
      if (cur.w0 == 0 || (cur.w0 & (memory::kDead | memory::kFrozen)) != 0) return false;
      if ((cur.w0 & memory::kLocked) != 0) {
        cpu_relax(spins);
        cur = memory::load_words(p);
        continue;
      }
      const Algorithm a = t->meta(i).algorithm;
      if (bound >= 0 && !expired_by(a, cur, bound)) return false;
      if (memory::cas_words(p, cur, Words{cur.w0 | memory::kDead, cur.w1})) {
        free_log_if_any(a, cur);
        sh.live.fetch_sub(1, std::memory_order_relaxed);
        return true;
      }
    }
  }

  // Drops slots expired by `bound` in [from, from+count) (wrapping); returns how many.
  static std::size_t sweep_range(Shard& sh, Table* t, std::size_t from, std::size_t count, Micros bound) {
    std::size_t dropped = 0;
    std::size_t i = from % t->capacity();
    for (std::size_t n = 0; n < count; ++n, i = t->next(i)) {
      if (kill(sh, t, i, bound)) ++dropped;
    }
    if (dropped > 0) sh.expired_dropped.fetch_add(dropped, std::memory_order_relaxed);
    return dropped;
  }

  // Copies live slots not expired by `bound` into a new table sized for them
  // and `extra` more; the old table is retired. Caller holds sh.mu.
  void rebuild(Shard& sh, Micros bound, std::size_t extra = 1) {
    Table* old = sh.table.load(std::memory_order_relaxed);
    auto* retired = new RetiredTable{old, {}};
    // Freeze every published slot so no update can land in the old table.
    std::vector<std::size_t> keep;
    keep.reserve(sh.live.load(std::memory_order_relaxed) + 1);
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < old->capacity(); ++i) {
      Words* p = old->state(i);
      Words cur = memory::load_words(p);
      unsigned spins = 0;
      bool dead = false;
      for (;;) {
        if (cur.w0 == 0) break;
        if ((cur.w0 & memory::kDead) != 0) {
          dead = true;
          break;
        }
        if ((cur.w0 & memory::kLocked) != 0) {
          cpu_relax(spins);
          cur = memory::load_words(p);
          continue;
        }
        if (memory::cas_words(p, cur, Words{cur.w0 | memory::kFrozen, cur.w1})) break;
      }
      if (cur.w0 == 0) continue;
      const Meta& m = old->meta(i);
      if (dead) {
        if (m.length == memory::kLongKey) retired->keys.push_back(m.long_key());
        continue;
      }
      if (expired_by(m.algorithm, cur, bound)) {
        free_log_if_any(m.algorithm, cur);
        if (m.length == memory::kLongKey) retired->keys.push_back(m.long_key());
        ++dropped;
        continue;
      }
      keep.push_back(i);
    }
    const std::size_t capacity =
        std::max(kMinCapacity, static_cast<std::size_t>(static_cast<double>(keep.size() + extra) / kTargetLoad) + 1);
    Table* fresh = Table::create(capacity);
    for (std::size_t i : keep) {
      const Meta& m = old->meta(i);
      const Words w = memory::load_words(old->state(i));
      const KeyHash h = hash_key(seed, m.key_view());
      const std::size_t j = fresh->free_slot(h);
      fresh->meta(j) = m;
      memory::publish_words(fresh->state(j), Words{w.w0 & ~memory::kFrozen, w.w1});
    }
    sh.used = keep.size();
    sh.cursor = 0;
    sh.live.fetch_sub(dropped, std::memory_order_relaxed);
    if (dropped > 0) sh.expired_dropped.fetch_add(dropped, std::memory_order_relaxed);
    sh.table.store(fresh, std::memory_order_release);
    EpochDomain::global().retire(retired, &RetiredTable::destroy);
  }

  // Makes room for one more key when the shard holds its share of max_keys
  // (`reserved` more keys are about to be published by the caller). Returns 0
  // if there is room now, else the retry_after of a rejection. Caller holds sh.mu.
  // Never evicts the slots of `protect` (the other keys of the caller's decision).
  Micros make_room(Shard& sh, Table* t, Micros now, std::size_t reserved = 0, std::span<const Resolved> protect = {}) {
    const auto full = [&] { return sh.live.load(std::memory_order_relaxed) + reserved >= per_shard_max; };
    if (per_shard_max == 0 || !full()) return 0;
    if (now - sh.last_full_sweep >= kFullSweepInterval || now < sh.last_full_sweep) {
      sh.last_full_sweep = now;
      sweep_range(sh, t, 0, t->capacity(), now);
      if (!full()) return 0;
    }
    sh.overflow.fetch_add(1, std::memory_order_relaxed);
    // Sample live slots from the cursor; find the one expiring soonest.
    std::size_t best = Table::kNotFound;
    Micros best_expiry = std::numeric_limits<Micros>::max();
    std::size_t seen = 0;
    std::size_t i = sh.cursor % t->capacity();
    for (std::size_t n = 0; n < t->capacity() && seen < kEvictionSample; ++n, i = t->next(i)) {
      const Words w = memory::load_words(t->state(i));
      if (w.w0 == 0 || (w.w0 & memory::kDead) != 0) continue;
      if (std::any_of(protect.begin(), protect.end(), [&](const Resolved& r) { return r.slot == t->state(i); })) continue;
      const Micros e = memory::expires_at(t->meta(i).algorithm, w);
      ++seen;
      if (e < best_expiry) {
        best_expiry = e;
        best = i;
      }
    }
    sh.cursor = i;
    if (options.overflow == OverflowPolicy::reject_new_keys || best == Table::kNotFound) {
      return best == Table::kNotFound ? kMicrosPerSecond : std::max<Micros>(1, best_expiry - now);
    }
    if (kill(sh, t, best)) sh.evicted.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }

  enum class InsertOutcome { inserted, exists, rejected };
  struct Insert {
    InsertOutcome outcome;
    Micros retry_after = 0;
  };

  // Publishes `initial` for `key` unless a live slot for it exists. On any
  // outcome other than `inserted`, a sliding_log `initial` is freed here.
  Insert insert(Shard& sh, KeyHash h, std::string_view key, Algorithm a, Words initial, Micros now) {
    std::lock_guard lock(sh.mu);
    Table* t = sh.table.load(std::memory_order_relaxed);
    if (t->find(h, key) != Table::kNotFound) {
      free_log_if_any(a, initial);
      return {InsertOutcome::exists};
    }
    sweep_range(sh, t, sh.cursor, kLazySweepSlots, now);
    sh.cursor = (sh.cursor + kLazySweepSlots) % t->capacity();
    if (const Micros retry = make_room(sh, t, now); retry > 0) {
      free_log_if_any(a, initial);
      return {InsertOutcome::rejected, retry};
    }
    t = reserve_slots(sh, 1, now);
    publish_new(sh, t, h, key, a, initial);
    return {InsertOutcome::inserted};
  }

  // Rebuilds the shard's table if `count` more keys would load it past
  // kMaxLoad; returns the table to publish them in. Caller holds sh.mu.
  Table* reserve_slots(Shard& sh, std::size_t count, Micros now) {
    const Table* t = sh.table.load(std::memory_order_relaxed);
    if (static_cast<double>(sh.used + count) > kMaxLoad * static_cast<double>(t->capacity())) rebuild(sh, now, count);
    return sh.table.load(std::memory_order_relaxed);
  }

  // Publishes a new slot for `key` (absent from `t`, which has room) holding
  // `initial`. Caller holds sh.mu.
  static void publish_new(Shard& sh, Table* t, KeyHash h, std::string_view key, Algorithm a, Words initial) {
    const std::size_t j = t->free_slot(h);
    Meta& m = t->meta(j);
    m.tag = h.tag();
    m.algorithm = a;
    if (key.size() <= memory::kInlineKey) {
      m.length = static_cast<std::uint8_t>(key.size());
      std::copy(key.begin(), key.end(), m.key);
    } else {
      m.length = memory::kLongKey;
      memory::LongKey* lk = memory::LongKey::make(key);
      std::memcpy(m.key, &lk, sizeof(lk));
    }
    memory::publish_words(t->state(j), initial);
    ++sh.used;
    sh.live.fetch_add(1, std::memory_order_relaxed);
  }

  // Waits until the shard publishes a table other than `t` (a rebuild is in progress).
  static void await_rebuild(Shard& sh, Table* t) {
    unsigned spins = 0;
    while (sh.table.load(std::memory_order_acquire) == t) cpu_relax(spins);
  }

  // Replaces a live slot whose algorithm differs from the check's: the old
  // state means nothing to the new algorithm.
  static void drop_mismatched(Shard& sh, Table* t, std::size_t i) {
    std::lock_guard lock(sh.mu);
    if (sh.table.load(std::memory_order_relaxed) == t) kill(sh, t, i);
  }

  static Decision overflow_decision(const LimitSpec& spec, Micros retry_after) noexcept {
    Decision d;
    d.limit = spec.reported_limit();
    d.retry_after = retry_after;
    return d;
  }

  // --- Single check, lock-free ----------------------------------------------

  Decision decide_single(const Check& c, KeyHash h, std::int64_t cost, Micros now) {
    const LimitSpec& spec = *c.spec;
    Shard& sh = shard_of(h);
    for (;;) {
      Table* t = sh.table.load(std::memory_order_acquire);
      const std::size_t i = t->find(h, c.key);
      if (i == Table::kNotFound) {
        const PackedStep first = step_packed(spec, fresh_words(spec, now), now, cost);
        if (!first.decision.allowed || cost == 0) return first.decision;  // nothing to keep
        const Insert ins = insert(sh, h, c.key, spec.algorithm(), first.next, now);
        if (ins.outcome == InsertOutcome::inserted) return first.decision;
        if (ins.outcome == InsertOutcome::rejected) return overflow_decision(spec, ins.retry_after);
        continue;  // another thread inserted it first
      }
      if (t->meta(i).algorithm != spec.algorithm()) {
        drop_mismatched(sh, t, i);
        continue;
      }
      Words* p = t->state(i);
      Words cur = memory::load_words(p);
      unsigned spins = 0;
      for (;;) {
        if ((cur.w0 & memory::kDead) != 0) break;
        if ((cur.w0 & memory::kFrozen) != 0) {
          await_rebuild(sh, t);
          break;
        }
        if ((cur.w0 & memory::kLocked) != 0) {
          cpu_relax(spins);
          cur = memory::load_words(p);
          continue;
        }
        const PackedStep r = step_packed(spec, cur, now, cost);
        if (!r.decision.allowed || cost == 0) {
          // Nothing to write; the snapshot is consistent if w0 did not move.
          // (w0 holds a value that never decreases, and w1 changes only with
          // a write that keeps or raises it, so an equal w0 means w1 belongs
          // to a state that existed.)
          const std::uint64_t again = memory::load_w0(p);
          if (again == cur.w0) return r.decision;
          cur = memory::load_words(p);
          continue;
        }
        if (memory::cas_words(p, cur, r.next)) return r.decision;
      }
    }
  }

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
      count_ = static_cast<std::size_t>(std::unique(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(count_)) -
                                        held_.begin());
      for (std::size_t i = 0; i < count_; ++i) impl_.shards[held_[i]].mu.lock();
    }
    void release() {
      for (std::size_t i = count_; i > 0; --i) impl_.shards[held_[i - 1]].mu.unlock();
      count_ = 0;
    }
    [[nodiscard]] bool holds_nothing() const { return count_ == 0; }
    [[nodiscard]] bool holds(std::size_t shard_index) const {
      return std::find(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(count_), shard_index) !=
             held_.begin() + static_cast<std::ptrdiff_t>(count_);
    }

   private:
    Impl& impl_;
    std::array<std::size_t, Store::kMaxChecks> held_{};
    std::size_t count_ = 0;
  };

  std::size_t shard_index(KeyHash h) const noexcept {
    return shard_bits == 0 ? 0 : static_cast<std::size_t>(h.value >> (64 - shard_bits));
  }

  // Finds every check's slot in its shard's current table; absent keys get a
  // null slot. Replaces states whose algorithm differs from the check's.
  void find_all(std::span<const Check> checks, std::span<const KeyHash> hashes, std::span<Resolved> out,
                const ShardLocks& held) {
    for (std::size_t k = 0; k < checks.size(); ++k) {
      Shard& sh = shard_of(hashes[k]);
      for (;;) {
        Table* t = sh.table.load(std::memory_order_acquire);
        const std::size_t i = t->find(hashes[k], checks[k].key);
        out[k] = Resolved{};
        out[k].table = t;
        if (i == Table::kNotFound) break;
        if (t->meta(i).algorithm != checks[k].spec->algorithm()) {
          if (held.holds(shard_index(hashes[k]))) {
            kill(sh, t, i);
          } else {
            drop_mismatched(sh, t, i);
          }
          continue;
        }
        out[k].slot = t->state(i);
        break;
      }
    }
  }

  // Locks every found slot in address order. Returns false, holding nothing,
  // if a slot was deleted or is being moved by a rebuild (then the caller
  // starts over; a rebuild is waited out first).
  bool lock_found(std::span<Resolved> res, std::span<const KeyHash> hashes, std::array<std::size_t, Store::kMaxChecks>& order,
                  ShardLocks& held) {
    const std::size_t n = res.size();
    for (std::size_t k = 0; k < n; ++k) order[k] = k;
    std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
              [&](std::size_t a, std::size_t b) { return res[a].slot < res[b].slot; });
    for (std::size_t locked = 0; locked < n; ++locked) {
      Resolved& r = res[order[locked]];
      if (r.slot == nullptr) continue;
      Words cur = memory::load_words(r.slot);
      unsigned spins = 0;
      for (;;) {
        if ((cur.w0 & (memory::kDead | memory::kFrozen)) != 0) {
          unlock_found(res, order, locked);
          held.release();
          if ((cur.w0 & memory::kFrozen) != 0) await_rebuild(shard_of(hashes[order[locked]]), r.table);
          return false;
        }
        if ((cur.w0 & memory::kLocked) != 0) {
          cpu_relax(spins);
          cur = memory::load_words(r.slot);
          continue;
        }
        if (memory::cas_words(r.slot, cur, Words{cur.w0 | memory::kLocked, cur.w1})) break;
      }
      r.held = cur;
    }
    return true;
  }

  static void unlock_found(std::span<Resolved> res, const std::array<std::size_t, Store::kMaxChecks>& order,
                           std::size_t count) {
    for (std::size_t m = 0; m < count; ++m) {
      Resolved& r = res[order[m]];
      if (r.slot == nullptr) continue;
      Words locked{r.held.w0 | memory::kLocked, r.held.w1};
      memory::cas_words(r.slot, locked, r.held);
    }
  }

  // For a charging decision with absent keys: holds their shards' mutexes and
  // makes room and capacity for them (marking them `prepared`). Returns 0, or
  // the retry_after of a max_keys rejection (then `rejected` is the check's
  // index). `held` must hold nothing on entry.
  Micros prepare_inserts(std::span<const Check> checks, std::span<const KeyHash> hashes, std::span<const Resolved> res,
                         Micros now, ShardLocks& held, std::array<bool, Store::kMaxChecks>& prepared,
                         std::size_t& rejected) {
    const std::size_t n = checks.size();
    std::array<std::size_t, Store::kMaxChecks> shards_of_absent{};
    std::size_t absent = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (res[k].slot == nullptr) shards_of_absent[absent++] = shard_index(hashes[k]);
    }
    held.acquire(std::span<const std::size_t>(shards_of_absent.data(), absent));
    // Absent keys among the first `upto` checks that live in shard `s`.
    const auto absent_in = [&](std::size_t s, std::size_t upto) {
      std::size_t count = 0;
      for (std::size_t j = 0; j < upto; ++j) {
        if (res[j].slot == nullptr && shard_index(hashes[j]) == s) ++count;
      }
      return count;
    };
    for (std::size_t k = 0; k < n; ++k) {
      if (res[k].slot != nullptr) continue;
      const std::size_t s = shard_index(hashes[k]);
      Shard& sh = shards[s];
      Table* t = sh.table.load(std::memory_order_relaxed);
      if (t->find(hashes[k], checks[k].key) != Table::kNotFound) continue;  // inserted meanwhile: found next round
      if (const Micros retry = make_room(sh, t, now, absent_in(s, k), res); retry > 0) {
        rejected = k;
        return retry;
      }
      prepared[k] = true;
    }
    for (std::size_t k = 0; k < n; ++k) {
      // Idempotent: once a shard has room for all its new keys, later calls change nothing.
      if (res[k].slot == nullptr) reserve_slots(shards[shard_index(hashes[k])], absent_in(shard_index(hashes[k]), n), now);
    }
    return 0;
  }

  Decision decide_locked(std::span<const Check> checks, std::span<const KeyHash> hashes, std::int64_t cost,
                         Micros now, std::span<Decision> each) {
    const std::size_t n = checks.size();
    std::array<Resolved, Store::kMaxChecks> storage{};
    const std::span<Resolved> res(storage.data(), n);
    std::array<std::size_t, Store::kMaxChecks> order{};
    ShardLocks held(*this);
    std::array<bool, Store::kMaxChecks> prepared{};  // absent keys with room made, under `held`
    for (;;) {
      find_all(checks, hashes, res, held);
      if (cost > 0) {
        bool unprepared = false;
        for (std::size_t k = 0; k < n; ++k) unprepared = unprepared || (res[k].slot == nullptr && !prepared[k]);
        if (unprepared) {
          held.release();
          prepared.fill(false);
          std::size_t rejected = 0;
          if (const Micros retry = prepare_inserts(checks, hashes, res, now, held, prepared, rejected); retry > 0) {
            return overflow(checks, rejected, retry, each);
          }
          continue;  // find again under the mutexes: a rebuild may have moved slots
        }
      }
      if (!lock_found(res, hashes, order, held)) {
        prepared.fill(false);
        continue;
      }
      decide_and_commit(checks, hashes, cost, now, each, res);
      return combine(each.first(n));
    }
  }

  static Decision overflow(std::span<const Check> checks, std::size_t rejected, Micros retry, std::span<Decision> each) {
    const Decision d = overflow_decision(*checks[rejected].spec, retry);
    std::fill(each.begin(), each.end(), d);
    Decision out = d;
    out.check_index = static_cast<std::uint32_t>(rejected);
    return out;
  }

  // Decides every check on its locked (or fresh) state; if all admit and
  // cost > 0, writes every new state and publishes the new keys (their
  // shards' mutexes are held); unlocks everything either way.
  void decide_and_commit(std::span<const Check> checks, std::span<const KeyHash> hashes, std::int64_t cost, Micros now,
                         std::span<Decision> each, std::span<Resolved> res) {
    const std::size_t n = checks.size();
    std::array<Words, Store::kMaxChecks> next{};
    algo::sliding_log::State scratch_log;  // an absent sliding_log's empty log
    for (std::size_t k = 0; k < n; ++k) {
      const LimitSpec& spec = *checks[k].spec;
      const Resolved& r = res[k];
      if (spec.algorithm() == Algorithm::sliding_log) {
        algo::sliding_log::State* log = r.slot != nullptr ? memory::log_of(r.held) : &scratch_log;
        if (r.slot == nullptr) log->clear();
        each[k] = algo::sliding_log::evaluate(spec, *log, now, cost);
      } else {
        const PackedStep step = step_packed(spec, r.slot != nullptr ? r.held : fresh_words(spec, now), now, cost);
        each[k] = step.decision;
        next[k] = step.next;
      }
      each[k].check_index = static_cast<std::uint32_t>(k);
    }
    const bool commit = combine(each.first(n)).allowed && cost > 0;
    for (std::size_t k = 0; k < n; ++k) {
      const LimitSpec& spec = *checks[k].spec;
      Resolved& r = res[k];
      if (r.slot == nullptr) {
        if (!commit) continue;
        Words initial = next[k];
        if (spec.algorithm() == Algorithm::sliding_log) {
          auto* log = new algo::sliding_log::State();
          algo::sliding_log::commit(*log, now, cost);
          initial = {memory::published(algo::sliding_log::expires_at(*log, spec.window())),
                     static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(log))};
        }
        Shard& sh = shard_of(hashes[k]);
        publish_new(sh, sh.table.load(std::memory_order_relaxed), hashes[k], checks[k].key, spec.algorithm(), initial);
        continue;
      }
      Words desired = r.held;
      if (commit) {
        if (spec.algorithm() == Algorithm::sliding_log) {
          algo::sliding_log::State* log = memory::log_of(r.held);
          algo::sliding_log::commit(*log, now, cost);
          desired.w0 = memory::published(algo::sliding_log::expires_at(*log, spec.window()));
        } else {
          desired = next[k];
        }
      }
      Words locked{r.held.w0 | memory::kLocked, r.held.w1};
      memory::cas_words(r.slot, locked, desired);  // we hold the lock: cannot fail
    }
  }

  // --- Sweeper -------------------------------------------------------------

  std::size_t sweep(Micros now) {
    std::size_t total = 0;
    EpochDomain::Guard guard;
    for (std::size_t s = 0; s < shard_count; ++s) {
      Shard& sh = shards[s];
      std::lock_guard lock(sh.mu);
      Table* t = sh.table.load(std::memory_order_relaxed);
      total += sweep_range(sh, t, 0, t->capacity(), now);
      const std::size_t live = sh.live.load(std::memory_order_relaxed);
      const std::size_t tombstones = sh.used - std::min(sh.used, live);
      const bool sparse = t->capacity() > kMinCapacity && live * 8 < t->capacity();
      if (sparse || tombstones * 4 > t->capacity()) rebuild(sh, now);
    }
    return total;
  }

  void start_sweeper(const Clock& clock, std::chrono::milliseconds interval) {
    stop_sweeper();
    std::lock_guard lock(sweeper_mu);
    stop_requested = false;
    sweeper = std::thread([this, &clock, interval] {
      std::unique_lock l(sweeper_mu);
      while (!sweeper_cv.wait_for(l, interval, [this] { return stop_requested; })) {
        l.unlock();
        sweep(clock.now());
        l.lock();
      }
    });
  }

  void stop_sweeper() {
    {
      std::lock_guard lock(sweeper_mu);
      stop_requested = true;
    }
    sweeper_cv.notify_all();
    if (sweeper.joinable()) sweeper.join();
  }

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

namespace {

void validate(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each) {
  if (checks.empty()) throw InvalidRequest("a decision needs at least one check");
  if (checks.size() > Store::kMaxChecks) {
    throw InvalidRequest("a decision has " + std::to_string(checks.size()) + " checks; at most " +
                         std::to_string(Store::kMaxChecks) + " are allowed");
  }
  if (!each.empty() && each.size() != checks.size()) {
    throw InvalidRequest("`each` must hold one decision per check (" + std::to_string(checks.size()) + "), got " +
                         std::to_string(each.size()));
  }
  if (cost < 0) throw InvalidRequest("cost must be 0 (peek) or positive, got " + std::to_string(cost));
  if (cost > LimitSpec::kMaxLimit) {
    throw InvalidRequest("cost " + std::to_string(cost) + " exceeds the maximum " + std::to_string(LimitSpec::kMaxLimit));
  }
  if (now < 0 || now > kMaxInstant) {
    throw InvalidRequest("instant " + std::to_string(now) + " µs is outside 0 .. 2^53 µs since the epoch");
  }
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const Check& c = checks[i];
    if (c.spec == nullptr) throw InvalidRequest("check " + std::to_string(i) + " has no limit spec");
    if (c.key.empty()) throw InvalidRequest("check " + std::to_string(i) + " has an empty key");
    if (c.key.size() > Store::kMaxKeyLength) {
      throw InvalidRequest("check " + std::to_string(i) + " key is " + std::to_string(c.key.size()) +
                           " bytes; at most " + std::to_string(Store::kMaxKeyLength) + " are allowed");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (checks[j].key == c.key) {
        throw InvalidRequest("checks " + std::to_string(j) + " and " + std::to_string(i) + " use the same key '" +
                             std::string(c.key) + "'; each state may appear once per decision");
      }
    }
  }
}

}  // namespace

MemoryStore::MemoryStore(MemoryStoreOptions options) : impl_(std::make_unique<Impl>(options)) {}
MemoryStore::~MemoryStore() = default;

Decision MemoryStore::decide(std::span<const Check> checks, std::int64_t cost, Micros now,
                             std::span<Decision> each) {
  validate(checks, cost, now, each);
  EpochDomain::Guard guard;
  const std::size_t n = checks.size();
  if (n == 1 && checks[0].spec->algorithm() != Algorithm::sliding_log) {
    const Decision d = impl_->decide_single(checks[0], hash_key(impl_->seed, checks[0].key), cost, now);
    if (!each.empty()) each[0] = d;
    return d;
  }
  std::array<KeyHash, kMaxChecks> hashes{};
  for (std::size_t k = 0; k < n; ++k) hashes[k] = hash_key(impl_->seed, checks[k].key);
  std::array<Decision, kMaxChecks> local{};
  std::span<Decision> out = each.empty() ? std::span<Decision>(local.data(), n) : each;
  return impl_->decide_locked(checks, std::span<const KeyHash>(hashes.data(), n), cost, now, out);
}

Decision MemoryStore::decide_one_now(const Check& check, std::int64_t cost, const Clock& clock) {
  if (check.spec == nullptr || check.spec->algorithm() == Algorithm::sliding_log || check.key.empty() ||
      check.key.size() > kMaxKeyLength) {
    return decide_one(check, cost, clock.now());  // the general path, with its checks and errors
  }
  EpochDomain::Guard guard;
  const KeyHash h = hash_key(impl_->seed, check.key);
  // Start the (likely) cache misses on the key's slot, then read the clock
  // while they are in flight: on a large store the two costs overlap.
  impl_->shard_of(h).table.load(std::memory_order_acquire)->prefetch(h);
  const Micros now = clock.now();
  validate(std::span<const Check>(&check, 1), cost, now, {});
  return impl_->decide_single(check, h, cost, now);
}

void MemoryStore::decide_many(std::span<const Check> checks, std::int64_t cost, Micros now,
                              std::span<Decision> out) {
  if (out.size() != checks.size()) {
    throw InvalidRequest("decide_many: `out` must hold one decision per check");
  }
  for (std::size_t i = 0; i < checks.size(); ++i) validate(checks.subspan(i, 1), cost, now, {});
  EpochDomain::Guard guard;
  constexpr std::size_t kAhead = 8;
  constexpr std::size_t kChunk = 64;
  std::array<KeyHash, kChunk> hashes{};
  for (std::size_t base = 0; base < checks.size(); base += kChunk) {
    const std::size_t m = std::min(kChunk, checks.size() - base);
    for (std::size_t k = 0; k < m; ++k) hashes[k] = hash_key(impl_->seed, checks[base + k].key);
    for (std::size_t k = 0; k < std::min(kAhead, m); ++k) {
      impl_->shard_of(hashes[k]).table.load(std::memory_order_acquire)->prefetch(hashes[k]);
    }
    for (std::size_t k = 0; k < m; ++k) {
      if (k + kAhead < m) {
        impl_->shard_of(hashes[k + kAhead]).table.load(std::memory_order_acquire)->prefetch(hashes[k + kAhead]);
      }
      const Check& c = checks[base + k];
      if (c.spec->algorithm() == Algorithm::sliding_log) {
        Decision one{};
        out[base + k] = impl_->decide_locked(std::span<const Check>(&c, 1), std::span<const KeyHash>(&hashes[k], 1),
                                             cost, now, std::span<Decision>(&one, 1));
      } else {
        out[base + k] = impl_->decide_single(c, hashes[k], cost, now);
      }
    }
  }
}

void MemoryStore::reset(std::span<const Check> checks) {
  EpochDomain::Guard guard;
  for (const Check& c : checks) {
    if (c.key.empty() || c.key.size() > kMaxKeyLength) continue;  // such a key holds no state
    const KeyHash h = hash_key(impl_->seed, c.key);
    Shard& sh = impl_->shard_of(h);
    for (;;) {
      Table* t = sh.table.load(std::memory_order_acquire);
      const std::size_t i = t->find(h, c.key);
      if (i == Table::kNotFound) break;
      if (Impl::kill(sh, t, i)) break;
      const std::uint64_t w0 = memory::load_w0(t->state(i));
      if ((w0 & memory::kFrozen) != 0) Impl::await_rebuild(sh, t);
    }
  }
}

StoreStats MemoryStore::stats() const {
  StoreStats s;
  for (std::size_t i = 0; i < impl_->shard_count; ++i) {
    const Shard& sh = impl_->shards[i];
    s.keys += sh.live.load(std::memory_order_relaxed);
    s.expired_dropped += sh.expired_dropped.load(std::memory_order_relaxed);
    s.overflow += sh.overflow.load(std::memory_order_relaxed);
    s.evicted += sh.evicted.load(std::memory_order_relaxed);
  }
  return s;
}

std::size_t MemoryStore::sweep(Micros now) { return impl_->sweep(now); }

void MemoryStore::start_sweeper(const Clock& clock, std::chrono::milliseconds interval) {
  impl_->start_sweeper(clock, interval);
}

void MemoryStore::stop_sweeper() { impl_->stop_sweeper(); }

std::size_t MemoryStore::memory_bytes() const {
  EpochDomain::Guard guard;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < impl_->shard_count; ++i) {
    bytes += impl_->shards[i].table.load(std::memory_order_acquire)->bytes();
  }
  return bytes;
}

}  // namespace ratelimit
