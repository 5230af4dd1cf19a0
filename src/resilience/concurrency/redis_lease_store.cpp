// RedisLeaseStore: one sorted set per key (member = lease id, score = expiry
// in µs); acquire and renew are short Lua scripts run through the Router
// (NOSCRIPT, MOVED, ASK and Sentinel failovers handled there). Compiled into
// ratelimit_redis (see this directory's CMakeLists.txt).

#include "ratelimit/redis_lease_store.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/request_validation.hpp"
#include "resilience/concurrency/lease_validation.hpp"
#include "store/redis/router.hpp"
#include "store/redis/topology.hpp"

namespace ratelimit {

using redis::Command;
using redis::Counters;
using redis::Reply;

namespace {

// Connections per node: lease traffic is light next to decisions.
constexpr int kMaxPoolSize = 2;

// Shared by both scripts. KEYS[1] is the lease set. Lua numbers are doubles:
// instants (<= 2^53) are exact.
constexpr std::string_view kPrelude = R"lua(
-- The set's Redis TTL: until its latest expiry, measured from the caller's
-- now, plus slack for a caller clock that runs ahead of Redis's.
local function keep(now, slack_ms)
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if #last == 0 then return end
  local ms = math.ceil((tonumber(last[2]) - now) / 1000) + slack_ms
  redis.call('PEXPIRE', KEYS[1], ms)
end
)lua";

// ARGV: limit, lease id, now, expires_at, slack ms. Reply: 1 taken, 0 full.
constexpr std::string_view kAcquireScript = R"lua(
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) and
   redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
keep(now, tonumber(ARGV[5]))
return 1
)lua";

// ARGV: lease id, now, expires_at, slack ms. Reply: 1 renewed, 0 not live.
constexpr std::string_view kRenewScript = R"lua(
local now = tonumber(ARGV[2])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
if tonumber(score) <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
keep(now, tonumber(ARGV[4]))
return 1
)lua";

std::string script_text(std::string_view body) {
  std::string text(kPrelude);
  text += body;
  return text;
}

RedisStoreOptions with_small_pool(RedisStoreOptions o) {
  o.pool_size = std::min(o.pool_size, kMaxPoolSize);
  return o;
}

const std::string kSlackMs = std::to_string(RedisLeaseStore::kTtlSlackSeconds * 1000);

}  // namespace

struct RedisLeaseStore::Impl {
  explicit Impl(RedisStoreOptions o) : options(std::move(o)), router(with_small_pool(options)) {}

  [[nodiscard]] std::string key_of(std::string_view key) const {
    std::string k = options.key_prefix;
    k += "lease:{";
    k += key;
    k += '}';
    return k;
  }

  [[noreturn]] void unexpected(std::string_view what, const std::string& key) {
    Counters::bump(router.counters().errors);
    throw StoreUnavailable(StoreUnavailable::Kind::reply,
                           "redis: unexpected reply to " + std::string(what) + " on '" + key + "'");
  }

  // A command or EVALSHA of `script` (nullptr: plain) on `key`'s slot that
  // must answer an integer.
  long long integer(redis::Script* script, const std::string& key, Command cmd,
                    std::string_view what) {
    const int slot = redis::key_slot(key);
    const Reply r = script != nullptr ? router.run_script(*script, cmd, slot, what)
                                      : router.run(std::move(cmd), slot, what);
    if (r->type != REDIS_REPLY_INTEGER) unexpected(what, key);
    return r->integer;
  }

  RedisStoreOptions options;
  redis::Router router;
  const std::string acquire_text = script_text(kAcquireScript);
  const std::string renew_text = script_text(kRenewScript);
  redis::Script acquire_script{acquire_text};
  redis::Script renew_script{renew_text};
};

RedisLeaseStore::RedisLeaseStore(RedisStoreOptions options)
    : impl_(std::make_unique<Impl>(redis::validated(std::move(options)))) {}
RedisLeaseStore::~RedisLeaseStore() = default;

bool RedisLeaseStore::acquire(std::string_view key, std::int64_t limit, std::string_view lease_id,
                              Micros now, Micros ttl) {
  concurrency::validate_lease_key(key);
  concurrency::validate_lease_limit(limit);
  concurrency::validate_lease_id(lease_id);
  concurrency::validate_lease_times(now, ttl);
  const std::string k = impl_->key_of(key);
  Command cmd{{"EVALSHA", "", "1", k, std::to_string(limit), std::string(lease_id),
               std::to_string(now), std::to_string(now + ttl), kSlackMs}};
  return impl_->integer(&impl_->acquire_script, k, std::move(cmd), "lease acquire script") == 1;
}

void RedisLeaseStore::release(std::string_view key, std::string_view lease_id) {
  concurrency::validate_lease_key(key);
  concurrency::validate_lease_id(lease_id);
  const std::string k = impl_->key_of(key);
  (void)impl_->integer(nullptr, k, Command{{"ZREM", k, std::string(lease_id)}}, "ZREM");
}

bool RedisLeaseStore::renew(std::string_view key, std::string_view lease_id, Micros now,
                            Micros ttl) {
  concurrency::validate_lease_key(key);
  concurrency::validate_lease_id(lease_id);
  concurrency::validate_lease_times(now, ttl);
  const std::string k = impl_->key_of(key);
  Command cmd{{"EVALSHA", "", "1", k, std::string(lease_id), std::to_string(now),
               std::to_string(now + ttl), kSlackMs}};
  return impl_->integer(&impl_->renew_script, k, std::move(cmd), "lease renew script") == 1;
}

std::int64_t RedisLeaseStore::in_flight(std::string_view key, Micros now) {
  concurrency::validate_lease_key(key);
  validate_instant(now);
  const std::string k = impl_->key_of(key);
  // "(now": scores strictly above now, the leases still live.
  return impl_->integer(nullptr, k, Command{{"ZCOUNT", k, "(" + std::to_string(now), "+inf"}},
                        "ZCOUNT");
}

RedisStats RedisLeaseStore::redis_stats() const { return impl_->router.counters().snapshot(); }

const RedisStoreOptions& RedisLeaseStore::options() const noexcept { return impl_->options; }

std::string RedisLeaseStore::redis_key(std::string_view key) const { return impl_->key_of(key); }

}  // namespace ratelimit
