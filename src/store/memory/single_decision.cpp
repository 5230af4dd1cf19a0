// MemoryStore: one check on a fixed-size state, lock-free (see store_impl.hpp).

#include "store/memory/store_impl.hpp"

namespace ratelimit {

Decision MemoryStore::Impl::decide_single(const Check& c, KeyHash h, std::int64_t cost,
                                          Micros now) {
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

}  // namespace ratelimit
