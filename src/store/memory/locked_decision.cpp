// MemoryStore: several checks at once, or sliding_log, under slot locks (see store_impl.hpp).

#include "core/request_validation.hpp"
#include "store/memory/store_impl.hpp"

namespace ratelimit {

void MemoryStore::Impl::find_all(std::span<const Check> checks, std::span<const KeyHash> hashes,
                                 std::span<Resolved> out, const ShardLocks& held) {
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

bool MemoryStore::Impl::lock_found(std::span<Resolved> res, std::span<const KeyHash> hashes,
                                   ShardLocks& held) {
  const std::size_t n = res.size();
  std::array<std::size_t, Store::kMaxChecks> order{};
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
        if ((cur.w0 & memory::kFrozen) != 0)
          await_rebuild(shard_of(hashes[order[locked]]), r.table);
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

void MemoryStore::Impl::unlock_found(std::span<Resolved> res,
                                     const std::array<std::size_t, Store::kMaxChecks>& order,
                                     std::size_t count) {
  for (std::size_t m = 0; m < count; ++m) {
    Resolved& r = res[order[m]];
    if (r.slot == nullptr) continue;
    Words locked{r.held.w0 | memory::kLocked, r.held.w1};
    memory::cas_words(r.slot, locked, r.held);
  }
}

Micros MemoryStore::Impl::prepare_inserts(
    std::span<const Check> checks, std::span<const KeyHash> hashes,
    std::span<const std::int64_t> costs, std::span<const Resolved> res, Micros now,
    ShardLocks& held, std::array<bool, Store::kMaxChecks>& prepared, std::size_t& rejected) {
  const std::size_t n = checks.size();
  // An absent key charged nothing is decided on a fresh state and not kept.
  const auto inserts = [&](std::size_t k) { return res[k].slot == nullptr && costs[k] > 0; };
  std::array<std::size_t, Store::kMaxChecks> shards_of_absent{};
  std::size_t absent = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (inserts(k)) shards_of_absent[absent++] = shard_index(hashes[k]);
  }
  held.acquire(std::span<const std::size_t>(shards_of_absent.data(), absent));
  // Absent keys to insert among the first `upto` checks that live in shard `s`.
  const auto absent_in = [&](std::size_t s, std::size_t upto) {
    std::size_t count = 0;
    for (std::size_t j = 0; j < upto; ++j) {
      if (inserts(j) && shard_index(hashes[j]) == s) ++count;
    }
    return count;
  };
  for (std::size_t k = 0; k < n; ++k) {
    if (!inserts(k)) continue;
    const std::size_t s = shard_index(hashes[k]);
    Shard& sh = shards[s];
    Table* t = sh.table.load(std::memory_order_relaxed);
    if (t->find(hashes[k], checks[k].key) != Table::kNotFound)
      continue;  // inserted meanwhile: found next round
    if (const Micros retry = make_room(sh, t, now, absent_in(s, k), res); retry > 0) {
      rejected = k;
      return retry;
    }
    prepared[k] = true;
  }
  for (std::size_t k = 0; k < n; ++k) {
    // Idempotent: once a shard has room for all its new keys, later calls change nothing.
    if (inserts(k))
      reserve_slots(shards[shard_index(hashes[k])], absent_in(shard_index(hashes[k]), n), now);
  }
  return 0;
}

Decision MemoryStore::Impl::decide_locked(std::span<const Check> checks,
                                          std::span<const KeyHash> hashes, std::int64_t cost,
                                          Micros now, std::span<Decision> each) {
  const std::size_t n = checks.size();
  std::array<std::int64_t, Store::kMaxChecks> cost_storage{};
  for (std::size_t k = 0; k < n; ++k) cost_storage[k] = effective_cost(checks[k], cost);
  const std::span<const std::int64_t> costs(cost_storage.data(), n);
  std::array<Resolved, Store::kMaxChecks> storage{};
  const std::span<Resolved> res(storage.data(), n);
  ShardLocks held(*this);
  std::array<bool, Store::kMaxChecks> prepared{};  // absent keys with room made, under `held`
  for (;;) {
    find_all(checks, hashes, res, held);
    // Absent keys charged nothing (a peek, or a check of cost 0) are decided
    // on a fresh state and never inserted, so they need no preparing.
    if (cost > 0) {
      bool unprepared = false;
      for (std::size_t k = 0; k < n; ++k)
        unprepared = unprepared || (res[k].slot == nullptr && costs[k] > 0 && !prepared[k]);
      if (unprepared) {
        held.release();
        prepared.fill(false);
        std::size_t rejected = 0;
        if (const Micros retry =
                prepare_inserts(checks, hashes, costs, res, now, held, prepared, rejected);
            retry > 0) {
          return overflow(checks, rejected, retry, each);
        }
        continue;  // find again under the mutexes: a rebuild may have moved slots
      }
    }
    if (!lock_found(res, hashes, held)) {
      prepared.fill(false);
      continue;
    }
    decide_and_commit(checks, hashes, costs, now, each, res);
    return combine(each.first(n));
  }
}

Decision MemoryStore::Impl::overflow(std::span<const Check> checks, std::size_t rejected,
                                     Micros retry, std::span<Decision> each) {
  const Decision d = overflow_decision(*checks[rejected].spec, retry);
  std::fill(each.begin(), each.end(), d);
  Decision out = d;
  out.check_index = static_cast<std::uint32_t>(rejected);
  return out;
}

void MemoryStore::Impl::decide_and_commit(std::span<const Check> checks,
                                          std::span<const KeyHash> hashes,
                                          std::span<const std::int64_t> costs, Micros now,
                                          std::span<Decision> each, std::span<Resolved> res) {
  const std::size_t n = checks.size();
  std::array<Words, Store::kMaxChecks> next{};
  algo::sliding_log::State scratch_log;  // an absent sliding_log's empty log
  for (std::size_t k = 0; k < n; ++k) {
    const LimitSpec& spec = *checks[k].spec;
    const Resolved& r = res[k];
    const std::int64_t cost = costs[k];
    if (spec.algorithm() == Algorithm::sliding_log) {
      algo::sliding_log::State* log = r.slot != nullptr ? memory::log_of(r.held) : &scratch_log;
      if (r.slot == nullptr) log->clear();
      each[k] = algo::sliding_log::evaluate(spec, *log, now, cost);
    } else {
      const PackedStep step =
          step_packed(spec, r.slot != nullptr ? r.held : fresh_words(spec, now), now, cost);
      each[k] = step.decision;
      next[k] = step.next;
    }
    each[k].check_index = static_cast<std::uint32_t>(k);
  }
  // A peek charges every check 0; a check charged 0 keeps its state as is.
  const bool all_admit = combine(each.first(n)).allowed;
  for (std::size_t k = 0; k < n; ++k) {
    const LimitSpec& spec = *checks[k].spec;
    Resolved& r = res[k];
    const std::int64_t cost = costs[k];
    const bool commit = all_admit && cost > 0;
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
      publish_new(sh, sh.table.load(std::memory_order_relaxed), hashes[k], checks[k].key,
                  spec.algorithm(), initial);
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

}  // namespace ratelimit
