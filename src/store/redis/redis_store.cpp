// RedisStore: every decision is one EVALSHA of the decision script per hash
// slot (NOSCRIPT, MOVED and ASK are handled by the Router); failures surface
// as StoreUnavailable.

#include "ratelimit/redis_store.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>
#include <array>
#include <exception>
#include <optional>
#include <string>

#include "core/request_validation.hpp"
#include "store/redis/combiner.hpp"
#include "store/redis/decide_script.hpp"
#include "store/redis/router.hpp"
#include "store/redis/topology.hpp"

namespace ratelimit {

using redis::Command;
using redis::Counters;
using redis::Reply;

namespace {

constexpr std::size_t kFieldsPerCheck = 5;  // allowed, remaining, reset_after, retry_after, delay
constexpr std::size_t kArgsPerCheck = 6;    // algorithm, limit, window, burst, mode, cost
constexpr std::size_t kArgsPerLimit = 5;    // op batch: algorithm, limit, window, burst, mode
constexpr std::size_t kArgsPerBatchCheck = 2;  // op batch: the limit's number, cost

}  // namespace

struct RedisStore::Impl {
  explicit Impl(RedisStoreOptions o)
      : options(std::move(o)), router(options), counters(router.counters()) {
    for (int i = 0; i < options.pool_size; ++i) lanes.push_back(std::make_unique<redis::Combiner<BatchItem>>());
  }

  // Checks of one decision that live on one slot (all of them outside Cluster).
  struct Group {
    int slot = 0;
    std::vector<std::uint32_t> checks;
  };

  // Appends the 6 script parameters of each listed check: its spec, and
  // the units it is charged in a decision (or refund) of `cost`.
  static void append_specs(Command& cmd, std::span<const Check> checks,
                           const std::vector<std::uint32_t>& idx, std::int64_t cost) {
    for (const std::uint32_t i : idx) {
      const LimitSpec& s = *checks[i].spec;
      cmd.args.emplace_back(std::to_string(static_cast<int>(s.algorithm())));
      cmd.args.emplace_back(std::to_string(s.limit()));
      cmd.args.emplace_back(std::to_string(s.window()));
      cmd.args.emplace_back(std::to_string(s.burst()));
      cmd.args.emplace_back(std::to_string(static_cast<int>(s.mode())));
      cmd.args.emplace_back(std::to_string(effective_cost(checks[i], cost)));
    }
  }

  static std::string instant_arg(std::optional<Micros> at) { return at ? std::to_string(*at) : std::string(); }

  // Runs the script once for `group`: op "decide" (cost 0 = peek) or
  // "refund". `at` is the instant, or nullopt for Redis TIME. Writes each
  // check's decision into out[index] and returns the instant the script used.
  Micros run_script(std::span<const Check> checks, const std::vector<std::string>& keys, const Group& group,
                    std::int64_t cost, std::optional<Micros> at, std::string_view op, std::span<Decision> out) {
    Command cmd;
    cmd.args.reserve(6 + group.checks.size() * (1 + kArgsPerCheck));
    cmd.args = {"EVALSHA", "", std::to_string(group.checks.size())};
    for (const std::uint32_t i : group.checks) cmd.args.push_back(keys[i]);
    cmd.args.push_back(instant_arg(at));
    cmd.args.push_back(std::to_string(cost));
    cmd.args.emplace_back(op);
    append_specs(cmd, checks, group.checks, cost);
    Reply r = execute(cmd, group.slot);
    expect_fields(*r, group.checks.size());
    parse_into(*r, 1, checks, group.checks, out);
    return r->element[0]->integer;
  }

  // What makes two limits the same one for the script (LimitSpec's ==).
  using LimitKey = std::array<std::int64_t, 5>;
  static LimitKey key_of(const LimitSpec& s) {
    return {static_cast<std::int64_t>(s.algorithm()), s.limit(), s.window(), s.burst(),
            static_cast<std::int64_t>(s.mode())};
  }
  struct LimitKeyHash {
    std::size_t operator()(const LimitKey& k) const noexcept {
      std::size_t h = 0;
      for (const std::int64_t v : k) h = (h ^ std::hash<std::int64_t>{}(v)) * 1099511628211ULL;
      return h;
    }
  };

  // A decision waiting in a batch (see decide_batched).
  struct BatchItem {
    std::span<const Check> checks;
    const std::vector<std::string>* keys = nullptr;
    const Group* group = nullptr;
    std::int64_t cost = 0;
    std::optional<Micros> at;
    std::span<Decision> out;
    std::exception_ptr error;
  };

  // Decides one whole batch of single-slot decisions with one script call
  // (op "batch"), or a lone decision with op "decide". Never throws: a
  // failure fails every decision of the batch.
  void run_batch(std::span<BatchItem* const> batch) {
    try {
      if (batch.size() == 1) {
        const BatchItem& b = *batch.front();
        run_script(b.checks, *b.keys, *b.group, b.cost, b.at, "decide", b.out);
        return;
      }
      Command cmd;
      std::size_t total = 0;
      for (const BatchItem* b : batch) total += b->group->checks.size();
      // Each distinct limit is sent once, its checks name it by number
      // (1-based): decisions of one endpoint share their limits, and Redis
      // parses each limit once per script run instead of once per check.
      std::vector<const LimitSpec*> limits;
      std::unordered_map<LimitKey, std::size_t, LimitKeyHash> number_of;
      std::vector<std::size_t> limit_of;  // per check, in order
      limit_of.reserve(total);
      for (const BatchItem* b : batch) {
        for (const std::uint32_t i : b->group->checks) {
          const LimitSpec& spec = *b->checks[i].spec;
          const auto [it, added] = number_of.try_emplace(key_of(spec), limits.size() + 1);
          if (added) limits.push_back(&spec);
          limit_of.push_back(it->second);
        }
      }
      cmd.args.reserve(7 + total * (1 + kArgsPerBatchCheck) + limits.size() * kArgsPerLimit + batch.size() * 3);
      cmd.args = {"EVALSHA", "", std::to_string(total)};
      for (const BatchItem* b : batch) {
        for (const std::uint32_t i : b->group->checks) cmd.args.push_back((*b->keys)[i]);
      }
      cmd.args.emplace_back();
      cmd.args.push_back(std::to_string(batch.size()));
      cmd.args.emplace_back("batch");
      cmd.args.push_back(std::to_string(limits.size()));
      for (const LimitSpec* l : limits) {
        cmd.args.emplace_back(std::to_string(static_cast<int>(l->algorithm())));
        cmd.args.emplace_back(std::to_string(l->limit()));
        cmd.args.emplace_back(std::to_string(l->window()));
        cmd.args.emplace_back(std::to_string(l->burst()));
        cmd.args.emplace_back(std::to_string(static_cast<int>(l->mode())));
      }
      std::size_t next = 0;
      for (const BatchItem* b : batch) {
        cmd.args.push_back(instant_arg(b->at));
        cmd.args.push_back(std::to_string(b->cost));
        cmd.args.push_back(std::to_string(b->group->checks.size()));
        for (const std::uint32_t i : b->group->checks) {
          cmd.args.push_back(std::to_string(limit_of[next++]));
          cmd.args.push_back(std::to_string(effective_cost(b->checks[i], b->cost)));
        }
      }
      Reply r = execute(cmd, batch.front()->group->slot);
      expect_fields(*r, total);
      std::size_t field = 1;
      for (BatchItem* b : batch) {
        parse_into(*r, field, b->checks, b->group->checks, b->out);
        field += kFieldsPerCheck * b->group->checks.size();
      }
    } catch (...) {
      const auto error = std::current_exception();
      for (BatchItem* b : batch) b->error = error;
    }
  }

  // Sends `cmd` (an EVALSHA whose SHA, args[1], the router fills in) to the
  // node serving `slot`. Returns the script's reply; throws StoreUnavailable.
  Reply execute(Command& cmd, int slot) {
    return router.run_script(decide_script, cmd, slot, "decision script");
  }

  void expect_fields(const redisReply& r, std::size_t checks) {
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 1 + kFieldsPerCheck * checks) {
      Counters::bump(counters.errors);
      throw StoreUnavailable(StoreUnavailable::Kind::reply, "redis: the decision script returned an unexpected reply");
    }
    for (std::size_t i = 0; i < r.elements; ++i) {
      if (r.element[i]->type != REDIS_REPLY_INTEGER) {
        Counters::bump(counters.errors);
        throw StoreUnavailable(StoreUnavailable::Kind::reply, "redis: non-integer field in the script's reply");
      }
    }
  }

  // Reads the 5 fields per check starting at reply element `first`.
  static void parse_into(const redisReply& r, std::size_t first, std::span<const Check> checks,
                         const std::vector<std::uint32_t>& idx, std::span<Decision> out) {
    for (std::size_t j = 0; j < idx.size(); ++j) {
      const std::size_t base = first + kFieldsPerCheck * j;
      Decision& d = out[idx[j]];
      d = Decision{};
      d.allowed = r.element[base]->integer == 1;
      d.limit = checks[idx[j]].spec->reported_limit();
      d.remaining = r.element[base + 1]->integer;
      d.reset_after = r.element[base + 2]->integer;
      const long long retry = r.element[base + 3]->integer;
      d.retry_after = retry < 0 ? kInfinite : retry;
      d.delay = r.element[base + 4]->integer;
    }
  }

  std::vector<Group> group_by_slot(const std::vector<std::string>& keys) const {
    std::vector<Group> groups;
    if (!router.sharded()) {
      groups.push_back({0, {}});
      for (std::uint32_t i = 0; i < keys.size(); ++i) groups.front().checks.push_back(i);
      return groups;
    }
    for (std::uint32_t i = 0; i < keys.size(); ++i) {
      const int slot = redis::key_slot(keys[i]);
      auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.slot == slot; });
      if (it == groups.end()) {
        groups.push_back({slot, {i}});
      } else {
        it->checks.push_back(i);
      }
    }
    return groups;
  }

  std::vector<std::string> redis_keys(std::span<const Check> checks) const {
    std::vector<std::string> keys;
    keys.reserve(checks.size());
    for (const Check& c : checks) keys.push_back(options.key_prefix + std::string(c.key));
    return keys;
  }

  Decision decide(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each) {
    std::array<Decision, Store::kMaxChecks> buffer;
    const std::span<Decision> out = each.empty() ? std::span<Decision>(buffer).first(checks.size()) : each;
    const std::vector<std::string> keys = redis_keys(checks);
    const std::vector<Group> groups = group_by_slot(keys);
    std::optional<Micros> at;
    if (options.time_mode == RedisTimeMode::client) at = now;

    if (groups.size() == 1) {
      // Cluster: merged decisions could span slots (CROSSSLOT), so not there.
      if (options.max_batch > 1 && !router.sharded()) {
        decide_batched(checks, keys, groups.front(), cost, at, out);
      } else {
        run_script(checks, keys, groups.front(), cost, at, "decide", out);
      }
      return combine(out);
    }
    // Several slots (Cluster): charge slot by slot, all at the first slot's
    // instant; if one denies, undo the slots already charged and peek the rest.
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const Micros t = run_script(checks, keys, groups[g], cost, at, "decide", out);
      if (!at) at = t;
      const bool denied = std::any_of(groups[g].checks.begin(), groups[g].checks.end(),
                                      [&](std::uint32_t i) { return !out[i].allowed; });
      if (!denied || cost == 0) continue;
      std::array<Decision, Store::kMaxChecks> scratch;
      for (std::size_t done = 0; done < g; ++done) {
        run_script(checks, keys, groups[done], cost, at, "refund", scratch);
        Counters::bump(counters.refunds);
        // What the refunded checks report: their state without this request.
        run_script(checks, keys, groups[done], 0, at, "decide", out);
      }
      for (std::size_t rest = g + 1; rest < groups.size(); ++rest) {
        run_script(checks, keys, groups[rest], 0, at, "decide", out);
      }
      break;
    }
    return combine(out);
  }

  // Concurrent decisions on one slot are merged: a leader sends up to
  // max_batch of them in one script call (Combiner), one lane per pooled
  // connection so several batches can be in flight.
  void decide_batched(std::span<const Check> checks, const std::vector<std::string>& keys, const Group& group,
                      std::int64_t cost, std::optional<Micros> at, std::span<Decision> out) {
    BatchItem item{checks, &keys, &group, cost, at, out, nullptr};
    auto& lane = *lanes[redis::thread_number() % lanes.size()];
    lane.submit(item, static_cast<std::size_t>(options.max_batch),
                [this](std::span<BatchItem* const> batch) { run_batch(batch); });
    if (item.error) std::rethrow_exception(item.error);
  }

  // Independent decisions, already validated: merged into script calls of
  // up to max_batch decisions, one round trip each (outside Cluster, where
  // merged decisions could span slots: there, one after another).
  void decide_batch(std::span<BatchDecision* const> jobs) {
    if (router.sharded() || options.max_batch <= 1) {
      for (BatchDecision* job : jobs) {
        try {
          job->result = decide(job->checks, job->cost, job->now, job->each);
        } catch (...) {
          job->error = std::current_exception();
        }
      }
      return;
    }
    const std::size_t n = jobs.size();
    std::vector<std::vector<std::string>> keys(n);
    std::vector<Group> groups(n);
    std::vector<std::vector<Decision>> scratch(n);
    std::vector<BatchItem> items(n);
    for (std::size_t i = 0; i < n; ++i) {
      BatchDecision& job = *jobs[i];
      keys[i] = redis_keys(job.checks);
      for (std::uint32_t c = 0; c < job.checks.size(); ++c) groups[i].checks.push_back(c);
      std::span<Decision> out = job.each;
      if (out.empty()) {
        scratch[i].resize(job.checks.size());
        out = scratch[i];
      }
      std::optional<Micros> at;
      if (options.time_mode == RedisTimeMode::client) at = job.now;
      items[i] = BatchItem{job.checks, &keys[i], &groups[i], job.cost, at, out, nullptr};
    }
    std::vector<BatchItem*> chunk;
    const auto max_batch = static_cast<std::size_t>(options.max_batch);
    for (std::size_t first = 0; first < n; first += max_batch) {
      chunk.clear();
      for (std::size_t i = first; i < std::min(n, first + max_batch); ++i) chunk.push_back(&items[i]);
      run_batch(chunk);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (items[i].error) {
        jobs[i]->error = items[i].error;
      } else {
        jobs[i]->result = combine(items[i].out);
      }
    }
  }

  void reset(std::span<const Check> checks) {
    const std::vector<std::string> keys = redis_keys(checks);
    for (const Group& g : group_by_slot(keys)) {
      Command del{{"DEL"}};
      for (const std::uint32_t i : g.checks) del.args.push_back(keys[i]);
      (void)router.run(std::move(del), g.slot, "DEL");
    }
  }

  RedisStoreOptions options;
  redis::Router router;
  Counters& counters;  // router's
  redis::Script decide_script{redis::kDecideScript};
  std::vector<std::unique_ptr<redis::Combiner<BatchItem>>> lanes;
};

RedisStore::RedisStore(RedisStoreOptions options)
    : impl_(std::make_unique<Impl>(redis::validated(std::move(options)))) {}
RedisStore::~RedisStore() = default;

Decision RedisStore::decide(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each) {
  validate_instant(now);
  validate_request(checks, cost, each);
  return impl_->decide(checks, cost, now, each);
}

Decision RedisStore::decide_one_now(const Check& check, std::int64_t cost, const Clock& clock) {
  // In server time mode Redis reads its own clock: ours is not needed.
  const Micros now = impl_->options.time_mode == RedisTimeMode::client ? clock.now() : 0;
  return decide_one(check, cost, now);
}

void RedisStore::decide_batch(std::span<BatchDecision> batch) {
  std::vector<BatchDecision*> valid;
  valid.reserve(batch.size());
  for (BatchDecision& job : batch) {
    try {
      validate_instant(job.now);
      validate_request(job.checks, job.cost, job.each);
      valid.push_back(&job);
    } catch (...) {
      job.error = std::current_exception();
    }
  }
  impl_->decide_batch(valid);
}

void RedisStore::reset(std::span<const Check> checks) {
  validate_request(checks, 0, {});
  impl_->reset(checks);
}

StoreStats RedisStore::stats() const { return {}; }

RedisStats RedisStore::redis_stats() const { return impl_->counters.snapshot(); }

const RedisStoreOptions& RedisStore::options() const noexcept { return impl_->options; }

std::string RedisStore::redis_key(std::string_view key) const { return impl_->options.key_prefix + std::string(key); }

}  // namespace ratelimit
