// GuardedStore: the circuit breaker around a primary store and the three
// failure modes.

#include "ratelimit/guarded_store.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/request_validation.hpp"

namespace ratelimit {

std::string_view to_string(FailureMode m) noexcept {
  switch (m) {
    case FailureMode::fail_open: return "open";
    case FailureMode::fail_closed: return "closed";
    case FailureMode::local: return "local";
  }
  return "?";
}

FailureMode parse_failure_mode(std::string_view name) {
  if (name == "open") return FailureMode::fail_open;
  if (name == "closed") return FailureMode::fail_closed;
  if (name == "local") return FailureMode::local;
  throw std::invalid_argument("unknown failure mode '" + std::string(name) + "' (expected open, closed or local)");
}

namespace {

GuardedStoreOptions validated(GuardedStoreOptions o) {
  if (!(o.local_share > 0.0 && o.local_share <= 1.0)) {
    throw std::invalid_argument("local_share must be in (0, 1], got " + std::to_string(o.local_share));
  }
  if (o.breaker_failures < 1) {
    throw std::invalid_argument("breaker_failures must be at least 1, got " + std::to_string(o.breaker_failures));
  }
  if (o.breaker_open < 1) throw std::invalid_argument("breaker_open must be positive");
  return o;
}

// A limit scaled to this instance's share; at least 1 so a key can still pass.
std::int64_t share_of(std::int64_t n, double share) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(n) * share));
}

LimitSpec local_spec(const LimitSpec& s, double share) {
  if (share >= 1.0) return s;
  LimitParams p;
  p.algorithm = s.algorithm();
  p.limit = share_of(s.limit(), share);
  p.window = s.window();
  if (is_bucket(s.algorithm())) p.burst = share_of(s.burst(), share);
  if (s.algorithm() == Algorithm::leaky_bucket) p.mode = s.mode();
  return LimitSpec(p);
}

CircuitBreakerConfig breaker_config(const GuardedStoreOptions& o) {
  CircuitBreakerConfig c;
  c.name = "guarded_store";
  c.window_type = SlidingWindowType::count;
  c.window_size = o.breaker_failures;
  c.minimum_calls = o.breaker_failures;
  c.failure_rate_threshold = 1.0;
  c.wait_in_open = o.breaker_open;
  c.permitted_calls_in_half_open = 1;
  c.successes_to_close = 1;
  return c;
}

}  // namespace

GuardedStore::GuardedStore(std::unique_ptr<Store> primary, GuardedStoreOptions options, const Clock& clock)
    : primary_(std::move(primary)),
      options_(validated(std::move(options))),
      clock_(clock),
      // Not owned: the caller keeps the clock alive, as before.
      breaker_(breaker_config(options_), std::shared_ptr<const Clock>(&clock_, [](const Clock*) {})) {
  if (!primary_) throw std::invalid_argument("GuardedStore needs a primary store");
  if (options_.failure_mode == FailureMode::local) local_ = std::make_unique<MemoryStore>(options_.local);
  breaker_.add_listener([this](const Transition& t) { count_transition(t); });
}

GuardedStore::~GuardedStore() = default;

void GuardedStore::count_transition(const Transition& t) noexcept {
  switch (t.to) {
    case BreakerState::open: breaker_opened_.fetch_add(1, std::memory_order_relaxed); break;
    case BreakerState::half_open: breaker_half_opened_.fetch_add(1, std::memory_order_relaxed); break;
    case BreakerState::closed: breaker_closed_.fetch_add(1, std::memory_order_relaxed); break;
  }
}

Decision GuardedStore::fallback(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each) {
  // Bad input is an error in any state of the primary (an open breaker
  // skips the primary, which would have said so).
  validate_instant(now);
  validate_request(checks, cost, each);
  fallbacks_.fetch_add(1, std::memory_order_relaxed);
  std::array<Decision, Store::kMaxChecks> buffer;
  const std::span<Decision> out = each.empty() ? std::span<Decision>(buffer).first(checks.size()) : each;
  switch (options_.failure_mode) {
    case FailureMode::local: {
      std::vector<LimitSpec> specs;
      specs.reserve(checks.size());
      for (const Check& c : checks) specs.push_back(local_spec(*c.spec, options_.local_share));
      std::array<Check, Store::kMaxChecks> local_checks;
      for (std::size_t i = 0; i < checks.size(); ++i)
        local_checks[i] = Check{&specs[i], checks[i].key, checks[i].cost};
      (void)local_->decide(std::span<const Check>(local_checks).first(checks.size()), cost, now, out);
      break;
    }
    case FailureMode::fail_open:
      for (std::size_t i = 0; i < checks.size(); ++i) {
        out[i] = Decision{};
        out[i].allowed = true;
        out[i].limit = checks[i].spec->reported_limit();
        out[i].remaining = out[i].limit;
      }
      break;
    case FailureMode::fail_closed: {
      // Until the breaker tries the primary again (at least 1 µs); a full
      // open period if it is still closed (it just failed below the threshold).
      Micros wait = std::max<Micros>(1, breaker_.retry_after());
      if (breaker_.state() == BreakerState::closed) wait = options_.breaker_open;
      for (std::size_t i = 0; i < checks.size(); ++i) {
        out[i] = Decision{};
        out[i].limit = checks[i].spec->reported_limit();
        out[i].retry_after = wait;
      }
      break;
    }
  }
  for (Decision& d : out) d.degraded = true;
  return combine(out);
}

std::optional<Decision> GuardedStore::try_primary(const std::function<Decision()>& call) {
  if (!breaker_.try_acquire()) {
    short_circuited_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  try {
    Decision d = call();
    breaker_.on_success();
    return d;
  } catch (const StoreUnavailable& e) {
    (e.kind() == StoreUnavailable::Kind::timeout ? timeouts_ : errors_).fetch_add(1, std::memory_order_relaxed);
    breaker_.on_failure();
    return std::nullopt;
  } catch (...) {
    breaker_.release();  // bad input says nothing about the primary's health
    throw;
  }
}

Decision GuardedStore::decide(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each) {
  if (auto d = try_primary([&] { return primary_->decide(checks, cost, now, each); })) return *d;
  return fallback(checks, cost, now, each);
}

Decision GuardedStore::decide_one_now(const Check& check, std::int64_t cost, const Clock& clock) {
  if (auto d = try_primary([&] { return primary_->decide_one_now(check, cost, clock); })) return *d;
  return fallback(std::span<const Check>(&check, 1), cost, clock.now(), {});
}

void GuardedStore::decide_batch(std::span<BatchDecision> batch) {
  if (batch.empty()) return;
  const auto fall_back = [this](BatchDecision& job) {
    try {
      job.result = fallback(job.checks, job.cost, job.now, job.each);
      job.error = nullptr;
    } catch (...) {
      job.error = std::current_exception();
    }
  };
  if (!breaker_.try_acquire()) {
    short_circuited_.fetch_add(batch.size(), std::memory_order_relaxed);
    for (BatchDecision& job : batch) fall_back(job);
    return;
  }
  primary_->decide_batch(batch);
  // The batch was one call to the primary (one round trip): the breaker
  // counts it once, as a failure when the primary was unavailable for it.
  std::vector<BatchDecision*> unavailable;
  bool timed_out = false;
  bool answered = false;
  for (BatchDecision& job : batch) {
    if (!job.error) {
      answered = true;
      continue;
    }
    try {
      std::rethrow_exception(job.error);
    } catch (const StoreUnavailable& e) {
      timed_out = timed_out || e.kind() == StoreUnavailable::Kind::timeout;
      unavailable.push_back(&job);
    } catch (...) {
      // Bad input: the job keeps its error, and it says nothing of the primary.
    }
  }
  if (unavailable.empty()) {
    if (answered) {
      breaker_.on_success();
    } else {
      breaker_.release();
    }
    return;
  }
  (timed_out ? timeouts_ : errors_).fetch_add(1, std::memory_order_relaxed);
  breaker_.on_failure();
  for (BatchDecision* job : unavailable) fall_back(*job);
}

void GuardedStore::reset(std::span<const Check> checks) {
  if (local_) local_->reset(checks);
  primary_->reset(checks);
}

StoreStats GuardedStore::stats() const { return primary_->stats(); }

GuardedStoreStats GuardedStore::guard_stats() const {
  GuardedStoreStats s;
  s.errors = errors_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  s.fallbacks = fallbacks_.load(std::memory_order_relaxed);
  s.short_circuited = short_circuited_.load(std::memory_order_relaxed);
  s.breaker_opened = breaker_opened_.load(std::memory_order_relaxed);
  s.breaker_half_opened = breaker_half_opened_.load(std::memory_order_relaxed);
  s.breaker_closed = breaker_closed_.load(std::memory_order_relaxed);
  s.state = breaker_.state();
  return s;
}

BreakerState GuardedStore::breaker_state() const { return breaker_.state(); }

}  // namespace ratelimit
