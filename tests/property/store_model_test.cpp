// Property 5: MemoryStore against the reference store (model-based).
//
// Random operations over 2-4 keys, each with its own limit (any algorithm):
// atomic multi-check decisions of 1-3 distinct keys (a check sometimes
// charged its own Check::cost instead of the decision's), peeks, resets, sweeps
// (MemoryStore only; with a monotone clock dropping expired states must not
// change anything) and decide_many (same as decide_one in order, repeats of a
// key allowed). Both stores must return the same combined decision and the
// same per-check decisions: exact on allowed, limit, remaining and
// check_index, durations within ±1 µs.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <array>
#include <string>

#include "property/generators.hpp"
#include "ratelimit/memory_store.hpp"
#include "support/reference_store.hpp"

namespace ratelimit::prop {
namespace {

enum class OpKind : std::uint8_t { decide, reset, sweep, decide_many };

struct Op {
  OpKind kind = OpKind::decide;
  Micros advance = 0;
  std::int64_t cost = 1;
  std::vector<std::size_t> keys;  ///< indices into the case's keys
  /// Check::cost of each key's check (kDecisionCost: the decision's cost).
  std::vector<std::int64_t> check_costs;
};

void showValue(const Op& op, std::ostream& os) {
  static constexpr std::array<const char*, 4> kNames{"decide", "reset", "sweep", "decide_many"};
  os << "{" << kNames[static_cast<std::size_t>(op.kind)] << " +" << op.advance << "us";
  if (op.kind == OpKind::decide || op.kind == OpKind::decide_many) os << " k=" << op.cost;
  if (!op.keys.empty()) {
    os << " keys:";
    for (std::size_t i = 0; i < op.keys.size(); ++i) {
      os << ' ' << op.keys[i];
      if (i < op.check_costs.size() && op.check_costs[i] != Check::kDecisionCost)
        os << "(k=" << op.check_costs[i] << ")";
    }
  }
  os << "}";
}

std::string show_keys(const std::vector<std::size_t>& keys) {
  std::string out;
  for (const std::size_t k : keys) out += (out.empty() ? "" : ",") + std::to_string(k);
  return "[" + out + "]";
}

rc::Gen<Op> gen_op(std::vector<SpecParams> params) {
  return rc::gen::exec([params] {
    const std::size_t n = params.size();
    std::int64_t max_capacity = 1;
    for (const auto& p : params) max_capacity = std::max(max_capacity, p.capacity());
    Op op;
    op.kind = *rc::gen::weightedElement<OpKind>(
        {{12, OpKind::decide}, {1, OpKind::reset}, {2, OpKind::sweep}, {2, OpKind::decide_many}});
    // Clock steps at the scale of one of the limits.
    op.advance = *gen_advance(*rc::gen::elementOf(params));
    op.cost = *rc::gen::weightedOneOf<std::int64_t>({
        {5, rc::gen::just<std::int64_t>(1)},
        {2, rc::gen::just<std::int64_t>(0)},
        {4, rc::gen::inRange<std::int64_t>(0, max_capacity + 3)},
    });
    switch (op.kind) {
      case OpKind::decide:
      case OpKind::reset: {
        const std::size_t count = *rc::gen::inRange<std::size_t>(1, std::min<std::size_t>(3, n) + 1);
        op.keys = *rc::gen::unique<std::vector<std::size_t>>(count, rc::gen::inRange<std::size_t>(0, n));
        break;
      }
      case OpKind::decide_many:
        op.keys = *rc::gen::resize(
            6, rc::gen::nonEmpty(rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(0, n))));
        break;
      case OpKind::sweep: break;
    }
    // Sometimes a check is charged its own cost (Check::cost), as a
    // per-request limit is next to a cost-unit budget: 1, 0, or any.
    for (std::size_t i = 0; i < op.keys.size(); ++i) {
      op.check_costs.push_back(*rc::gen::weightedOneOf<std::int64_t>({
          {6, rc::gen::just(std::int64_t{Check::kDecisionCost})},
          {2, rc::gen::just<std::int64_t>(1)},
          {1, rc::gen::just<std::int64_t>(0)},
          {2, rc::gen::inRange<std::int64_t>(0, max_capacity + 3)},
      }));
    }
    return op;
  });
}

bool agree(const Decision& a, const Decision& b) { return same_decision(a, b, 1); }

RC_GTEST_PROP(StoreModel, MemoryStoreMatchesReferenceStore, ()) {
  const std::size_t n = *rc::gen::inRange<std::size_t>(2, 5);
  std::vector<SpecParams> params;
  for (std::size_t i = 0; i < n; ++i) params.push_back(*gen_spec_among(all_algorithms()));
  std::vector<LimitSpec> specs;
  for (const auto& p : params) specs.push_back(p.make());
  static constexpr std::array<const char*, 4> kKeys{"tier:free:sec", "tier:free:min", "ip:10.1.2.3", "user:42"};
  const std::size_t shards = *rc::gen::element<std::size_t>(1, 2, 64);
  const Micros start = *gen_start(params[0]);
  const std::vector<Op> ops =
      *rc::gen::withSize([&params](int size) {
        return rc::gen::resize(std::min(200, 4 * size), rc::gen::container<std::vector<Op>>(gen_op(params)));
      });

  testing::ReferenceStore model;
  MemoryStore store(MemoryStoreOptions{.shards = shards});
  auto check_of = [&](const Op& op, std::size_t i) {
    const std::size_t key = op.keys[i];
    return Check{&specs[key], kKeys[key], op.check_costs[i]};
  };
  // The units check i of `op` is charged (Check::cost's rule).
  auto cost_of = [](const Op& op, std::size_t i) {
    return op.cost == 0 || op.check_costs[i] == Check::kDecisionCost ? op.cost : op.check_costs[i];
  };

  Micros now = start;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    now += op.advance;
    const std::string at = "op #" + std::to_string(i) + " at " + std::to_string(now);
    switch (op.kind) {
      case OpKind::decide: {
        std::vector<Check> checks;
        for (std::size_t c = 0; c < op.keys.size(); ++c) checks.push_back(check_of(op, c));
        std::vector<Decision> each_model(checks.size());
        std::vector<Decision> each_store(checks.size());
        const Decision m = model.decide(checks, op.cost, now, each_model);
        const Decision s = store.decide(checks, op.cost, now, each_store);
        for (std::size_t c = 0; c < checks.size(); ++c) {
          if (!agree(each_model[c], each_store[c])) {
            RC_FAIL(at + " decide keys " + show_keys(op.keys) + " cost " + std::to_string(op.cost) + ": check " +
                    std::to_string(c) + " reference " + show(each_model[c]) + ", MemoryStore " + show(each_store[c]));
          }
          if (const auto v = decision_invariant_violation(params[op.keys[c]], cost_of(op, c),
                                                          each_store[c], true);
              !v.empty()) {
            RC_FAIL(at + " check " + std::to_string(c) + ": " + v + " [" + show(each_store[c]) + "]");
          }
        }
        if (!agree(m, s)) {
          RC_FAIL(at + " decide keys " + show_keys(op.keys) + " cost " + std::to_string(op.cost) +
                  ": combined reference " + show(m) + ", MemoryStore " + show(s));
        }
        break;
      }
      case OpKind::reset: {
        std::vector<Check> checks;
        for (std::size_t c = 0; c < op.keys.size(); ++c) checks.push_back(check_of(op, c));
        model.reset(checks);
        store.reset(checks);
        break;
      }
      case OpKind::sweep: (void)store.sweep(now); break;
      case OpKind::decide_many: {
        std::vector<Check> checks;
        for (std::size_t c = 0; c < op.keys.size(); ++c) checks.push_back(check_of(op, c));
        std::vector<Decision> out(checks.size());
        store.decide_many(checks, op.cost, now, out);
        for (std::size_t c = 0; c < checks.size(); ++c) {
          const Decision m = model.decide_one(checks[c], op.cost, now);
          if (!agree(m, out[c])) {
            RC_FAIL(at + " decide_many keys " + show_keys(op.keys) + " cost " + std::to_string(op.cost) + ": #" +
                    std::to_string(c) + " reference " + show(m) + ", MemoryStore " + show(out[c]));
          }
        }
        break;
      }
    }
  }
}

}  // namespace
}  // namespace ratelimit::prop
