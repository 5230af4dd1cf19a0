// SharedCircuitBreaker: a local breaker that publishes its open periods to an
// AttributeStore and adopts the ones other instances published.

#include "ratelimit/resilience/shared_circuit_breaker.hpp"

#include <charconv>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "ratelimit/store.hpp"

namespace ratelimit {

namespace {

constexpr std::string_view kVersion = "v1";

std::string encode(Micros opened_at, Micros until) {
  return std::string(kVersion) + " " + std::to_string(opened_at) + " " + std::to_string(until);
}

// "v1 <opened_at> <until>" -> until; nullopt if it is not that.
std::optional<Micros> decode_until(std::string_view v) {
  if (v.substr(0, kVersion.size() + 1) != std::string(kVersion) + " ") return std::nullopt;
  v.remove_prefix(kVersion.size() + 1);
  Micros opened_at = 0;
  Micros until = 0;
  const char* end = v.data() + v.size();
  auto r = std::from_chars(v.data(), end, opened_at);
  if (r.ec != std::errc{} || r.ptr == end || *r.ptr != ' ') return std::nullopt;
  r = std::from_chars(r.ptr + 1, end, until);
  if (r.ec != std::errc{} || r.ptr != end || until < opened_at) return std::nullopt;
  return until;
}

SharedBreakerOptions checked(SharedBreakerOptions o, const CircuitBreakerConfig& config) {
  if (o.sync_interval < 1) {
    throw std::invalid_argument("SharedCircuitBreaker '" + config.name +
                                "': sync_interval must be at least 1 us, got " +
                                std::to_string(o.sync_interval));
  }
  const std::size_t key_length = o.key_prefix.size() + config.name.size();
  if (key_length > AttributeStore::kMaxKeyLength) {
    throw std::invalid_argument("SharedCircuitBreaker '" + config.name +
                                "': key_prefix + name must be at most " +
                                std::to_string(AttributeStore::kMaxKeyLength) + " bytes, got " +
                                std::to_string(key_length));
  }
  return o;
}

bool opened_on_evidence(TransitionReason r) {
  return r == TransitionReason::failure_rate || r == TransitionReason::slow_call_rate ||
         r == TransitionReason::probes_failed;
}

}  // namespace

SharedCircuitBreaker::SharedCircuitBreaker(CircuitBreakerConfig config,
                                           std::shared_ptr<AttributeStore> store,
                                           SharedBreakerOptions options,
                                           std::shared_ptr<const Clock> clock)
    : options_(checked(std::move(options), config)),
      store_(std::move(store)),
      key_(options_.key_prefix + config.name),
      breaker_(std::move(config), std::move(clock)) {
  if (!store_)
    throw std::invalid_argument("SharedCircuitBreaker '" + breaker_.name() +
                                "': store must not be null");
  breaker_.add_listener([this](const Transition& t) { publish(t); });
}

SharedCircuitBreaker::~SharedCircuitBreaker() = default;

void SharedCircuitBreaker::publish(const Transition& t) noexcept {
  if (t.to != BreakerState::open || !opened_on_evidence(t.reason)) return;
  const Micros until = t.at + breaker_.config().wait_in_open;
  try {
    store_->put(AttributeStore::Record{key_, encode(t.at, until), until});
    published_.fetch_add(1, std::memory_order_relaxed);
  } catch (const std::exception&) {
    // StoreUnavailable, or an instant beyond kMaxInstant (InvalidRequest):
    // either way this instance stays open on its own.
    store_errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

void SharedCircuitBreaker::sync_due(Micros now) {
  Micros due = next_sync_.load(std::memory_order_relaxed);
  // One thread per interval does the I/O; the others go on with the local state.
  while (now >= due) {
    if (next_sync_.compare_exchange_weak(due, now + options_.sync_interval,
                                         std::memory_order_relaxed)) {
      sync_at(now);
      return;
    }
  }
}

void SharedCircuitBreaker::sync() { sync_at(breaker_.clock().now()); }

void SharedCircuitBreaker::sync_at(Micros now) {
  std::lock_guard lock(sync_mu_);
  syncs_.fetch_add(1, std::memory_order_relaxed);
  std::optional<AttributeStore::Record> record;
  try {
    const std::uint64_t generation = store_->generation();
    if (last_generation_ == generation) return;
    reads_.fetch_add(1, std::memory_order_relaxed);
    record = store_->get(key_, now);
    last_generation_ = generation;  // only once the read succeeded
  } catch (const StoreUnavailable&) {
    store_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (!record) return;
  const std::optional<Micros> until = decode_until(record->value);
  if (!until) {
    bad_records_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (breaker_.open_until(*until)) remote_opens_.fetch_add(1, std::memory_order_relaxed);
}

SharedBreakerStats SharedCircuitBreaker::shared_stats() const {
  SharedBreakerStats s;
  s.syncs = syncs_.load(std::memory_order_relaxed);
  s.reads = reads_.load(std::memory_order_relaxed);
  s.published = published_.load(std::memory_order_relaxed);
  s.remote_opens = remote_opens_.load(std::memory_order_relaxed);
  s.store_errors = store_errors_.load(std::memory_order_relaxed);
  s.bad_records = bad_records_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ratelimit
