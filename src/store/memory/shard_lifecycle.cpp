// MemoryStore: creating, growing, sweeping and evicting slots (see store_impl.hpp).

#include <limits>

#include "store/memory/store_impl.hpp"

namespace ratelimit {

MemoryStore::Impl::Impl(MemoryStoreOptions o) : options(o) {
  const std::size_t n =
      std::clamp<std::size_t>(round_up_pow2(std::max<std::size_t>(1, o.shards)), 1, 4096);
  shard_bits = static_cast<unsigned>(std::countr_zero(n));
  shard_count = n;
  shards = std::make_unique<Shard[]>(n);
  per_shard_max = o.max_keys == 0 ? 0 : (o.max_keys + n - 1) / n;
  for (std::size_t i = 0; i < n; ++i) shards[i].table.store(Table::create(kMinCapacity));
}

MemoryStore::Impl::~Impl() {
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

bool MemoryStore::Impl::kill(Shard& sh, Table* t, std::size_t i, Micros bound) {
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

std::size_t MemoryStore::Impl::sweep_range(Shard& sh, Table* t, std::size_t from, std::size_t count,
                                           Micros bound) {
  std::size_t dropped = 0;
  std::size_t i = from % t->capacity();
  for (std::size_t n = 0; n < count; ++n, i = t->next(i)) {
    if (kill(sh, t, i, bound)) ++dropped;
  }
  if (dropped > 0) sh.expired_dropped.fetch_add(dropped, std::memory_order_relaxed);
  return dropped;
}

namespace {
std::atomic<std::uint64_t> g_rebuilds{0};
}  // namespace

std::uint64_t memory::table_rebuilds_for_test() noexcept {
  return g_rebuilds.load(std::memory_order_relaxed);
}

void MemoryStore::Impl::rebuild(Shard& sh, Micros now, std::size_t extra, Resize resize) {
  const Micros bound = now;
  Table* old = sh.table.load(std::memory_order_relaxed);
  auto* retired = new RetiredTable{old, {}};
  // Freeze every published slot so no update can land in the old table.
  std::vector<std::size_t> keep;
  keep.reserve(sh.live.load(std::memory_order_relaxed) + 1);
  std::size_t dropped = 0;
  std::size_t dead_slots = 0;
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
      ++dead_slots;
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
  const std::size_t fit = std::max(
      kMinCapacity,
      static_cast<std::size_t>(static_cast<double>(keep.size() + extra) / kTargetLoad) + 1);
  // Sizing to fit alone would let a shard whose keys expire between visits
  // shrink to a few slots at every rebuild and rebuild again a few inserts
  // later: the floor keeps each rebuild (O(old capacity)) paid for by the
  // inserts that filled the table since the previous one.
  std::size_t floor = 0;
  if (resize == Resize::amortized) {
    const bool busy = now < sh.last_rebuild || now - sh.last_rebuild < kBusyRebuildInterval;
    const std::size_t reclaimed = dropped + dead_slots;
    if (!busy) {
      floor = old->capacity() / 2;
    } else if (reclaimed >= keep.size() && old->capacity() < kChurnCapacity) {
      floor = old->capacity() * 2;
    } else {
      floor = old->capacity();
    }
  } else if (keep.size() * 8 >= old->capacity()) {
    floor = old->capacity();
  }
  const std::size_t capacity = std::max(fit, floor);
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
  sh.last_rebuild = now;
  g_rebuilds.fetch_add(1, std::memory_order_relaxed);
  sh.live.fetch_sub(dropped, std::memory_order_relaxed);
  if (dropped > 0) sh.expired_dropped.fetch_add(dropped, std::memory_order_relaxed);
  sh.table.store(fresh, std::memory_order_release);
  EpochDomain::global().retire(retired, &RetiredTable::destroy);
}

Micros MemoryStore::Impl::make_room(Shard& sh, Table* t, Micros now, std::size_t reserved,
                                    std::span<const Resolved> protect) {
  const auto full = [&] {
    return sh.live.load(std::memory_order_relaxed) + reserved >= per_shard_max;
  };
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
    if (std::any_of(protect.begin(), protect.end(),
                    [&](const Resolved& r) { return r.slot == t->state(i); }))
      continue;
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

MemoryStore::Impl::Insert MemoryStore::Impl::insert(Shard& sh, KeyHash h, std::string_view key,
                                                    Algorithm a, Words initial, Micros now) {
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

Table* MemoryStore::Impl::reserve_slots(Shard& sh, std::size_t count, Micros now) {
  const Table* t = sh.table.load(std::memory_order_relaxed);
  if (static_cast<double>(sh.used + count) > kMaxLoad * static_cast<double>(t->capacity()))
    rebuild(sh, now, count, Resize::amortized);
  return sh.table.load(std::memory_order_relaxed);
}

void MemoryStore::Impl::publish_new(Shard& sh, Table* t, KeyHash h, std::string_view key,
                                    Algorithm a, Words initial) {
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

void MemoryStore::Impl::await_rebuild(Shard& sh, Table* t) {
  unsigned spins = 0;
  while (sh.table.load(std::memory_order_acquire) == t) cpu_relax(spins);
}

void MemoryStore::Impl::drop_mismatched(Shard& sh, Table* t, std::size_t i) {
  std::lock_guard lock(sh.mu);
  if (sh.table.load(std::memory_order_relaxed) == t) kill(sh, t, i);
}

std::size_t MemoryStore::Impl::sweep(Micros now) {
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
    if (sparse || tombstones * 4 > t->capacity()) rebuild(sh, now, 1, Resize::compact);
  }
  return total;
}

void MemoryStore::Impl::start_sweeper(const Clock& clock, std::chrono::milliseconds interval) {
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

void MemoryStore::Impl::stop_sweeper() {
  {
    std::lock_guard lock(sweeper_mu);
    stop_requested = true;
  }
  sweeper_cv.notify_all();
  if (sweeper.joinable()) sweeper.join();
}

}  // namespace ratelimit
