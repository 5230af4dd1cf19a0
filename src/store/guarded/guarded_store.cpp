// GuardedStore: the circuit breaker around a primary store and the three
// failure modes.

#include "ratelimit/guarded_store.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

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

std::string_view to_string(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "?";
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

}  // namespace

GuardedStore::GuardedStore(std::unique_ptr<Store> primary, GuardedStoreOptions options, const Clock& clock)
    : primary_(std::move(primary)), options_(validated(std::move(options))), clock_(clock) {
  if (!primary_) throw std::invalid_argument("GuardedStore needs a primary store");
  if (options_.failure_mode == FailureMode::local) local_ = std::make_unique<MemoryStore>(options_.local);
}

GuardedStore::~GuardedStore() = default;

bool GuardedStore::admit_call() {
  if (state_.load(std::memory_order_acquire) == BreakerState::closed) return true;
  std::lock_guard lock(mu_);
  switch (state_.load(std::memory_order_relaxed)) {
    case BreakerState::closed:
      return true;
    case BreakerState::open:
      if (clock_.now() < open_until_) return false;
      state_.store(BreakerState::half_open, std::memory_order_release);
      ++stats_.breaker_half_opened;
      probe_in_flight_ = true;
      return true;  // this call is the probe
    case BreakerState::half_open:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return false;
}

void GuardedStore::on_success() {
  if (state_.load(std::memory_order_acquire) == BreakerState::closed &&
      consecutive_failures_.load(std::memory_order_relaxed) == 0) {
    return;  // the common case: nothing to write
  }
  std::lock_guard lock(mu_);
  consecutive_failures_.store(0, std::memory_order_relaxed);
  if (state_.load(std::memory_order_relaxed) != BreakerState::closed) {
    state_.store(BreakerState::closed, std::memory_order_release);
    probe_in_flight_ = false;
    ++stats_.breaker_closed;
  }
}

void GuardedStore::release_probe() {
  if (state_.load(std::memory_order_acquire) == BreakerState::closed) return;
  std::lock_guard lock(mu_);
  probe_in_flight_ = false;
}

void GuardedStore::on_failure(const StoreUnavailable& e) {
  std::lock_guard lock(mu_);
  ++(e.kind() == StoreUnavailable::Kind::timeout ? stats_.timeouts : stats_.errors);
  const int failures = consecutive_failures_.load(std::memory_order_relaxed) + 1;
  consecutive_failures_.store(failures, std::memory_order_relaxed);
  const BreakerState s = state_.load(std::memory_order_relaxed);
  if (s == BreakerState::half_open || (s == BreakerState::closed && failures >= options_.breaker_failures)) {
    state_.store(BreakerState::open, std::memory_order_release);
    open_until_ = clock_.now() + options_.breaker_open;
    probe_in_flight_ = false;
    ++stats_.breaker_opened;
  }
}

Decision GuardedStore::fallback(std::span<const Check> checks, std::int64_t cost, Micros now, std::span<Decision> each) {
  {
    std::lock_guard lock(mu_);
    ++stats_.fallbacks;
  }
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
      Micros wait = 0;
      {
        std::lock_guard lock(mu_);
        wait = std::max<Micros>(1, open_until_ - clock_.now());
      }
      if (state_.load(std::memory_order_acquire) == BreakerState::closed) wait = options_.breaker_open;
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
  if (!admit_call()) {
    std::lock_guard lock(mu_);
    ++stats_.short_circuited;
    return std::nullopt;
  }
  try {
    Decision d = call();
    on_success();
    return d;
  } catch (const StoreUnavailable& e) {
    on_failure(e);
    return std::nullopt;
  } catch (...) {
    release_probe();  // bad input says nothing about the primary's health
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

void GuardedStore::reset(std::span<const Check> checks) {
  if (local_) local_->reset(checks);
  primary_->reset(checks);
}

StoreStats GuardedStore::stats() const { return primary_->stats(); }

GuardedStoreStats GuardedStore::guard_stats() const {
  std::lock_guard lock(mu_);
  GuardedStoreStats s = stats_;
  s.state = state_.load(std::memory_order_relaxed);
  return s;
}

BreakerState GuardedStore::breaker_state() const { return state_.load(std::memory_order_acquire); }

}  // namespace ratelimit
