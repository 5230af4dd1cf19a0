// RedisAttributeStore: the records in one hash, the generation counter next
// to it on the same slot; every change is a short Lua script run through the
// Router (NOSCRIPT, MOVED, ASK and Sentinel failovers handled there).

#include "ratelimit/redis_attribute_store.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/request_validation.hpp"
#include "store/attribute_validation.hpp"
#include "store/redis/router.hpp"
#include "store/redis/topology.hpp"

namespace ratelimit {

using redis::Command;
using redis::Counters;
using redis::Reply;

namespace {

// Stored value: expires_at as 8 bytes little-endian (kNever: no expiry), then
// the record's value.
constexpr std::size_t kExpiryBytes = 8;
constexpr std::uint64_t kNever = ~std::uint64_t{0};
// Connections per node: attributes change rarely and readers poll `generation`.
constexpr int kMaxPoolSize = 2;
// Fields per HSCAN step (a hint to Redis) and per purge script.
constexpr const char* kScanCount = "256";
constexpr std::size_t kPurgeBatch = 256;

// Helpers every script starts with. KEYS[1] is the hash, KEYS[2] the
// generation. Lua numbers are doubles: instants (<= 2^53) are exact.
constexpr std::string_view kPrelude = R"lua(
local NEVER = string.rep('\255', 8)
-- The stored expiry: nil = never, -1 = malformed (counts as expired).
local function expires_at(v)
  if #v < 8 then return -1 end
  if string.sub(v, 1, 8) == NEVER then return nil end
  local b1, b2, b3, b4, b5, b6, b7, b8 = string.byte(v, 1, 8)
  local low = ((((b6 * 256 + b5) * 256 + b4) * 256 + b3) * 256 + b2) * 256 + b1
  -- Above 2^53 (b7 = 32 is bit 53) is not an instant the client writes.
  if b8 ~= 0 or b7 > 32 or (b7 == 32 and low ~= 0) then return -1 end
  return b7 * 281474976710656 + low
end
local function live(v, now)
  local e = expires_at(v)
  return e == nil or e > now
end
-- A missing counter (new deployment, or Redis lost its data) starts at TIME
-- in µs, so it does not repeat a value handed out before the loss.
local function advance()
  if redis.call('EXISTS', KEYS[2]) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', KEYS[2], t[1] .. string.format('%06d', tonumber(t[2])))
  end
  return redis.call('INCR', KEYS[2])
end
)lua";

// ARGV: field, stored value. Reply: the new generation.
constexpr std::string_view kPutScript = R"lua(
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return advance()
)lua";

// ARGV: field, now. Deletes the field; advances the generation and replies 1
// only if the record was live (an expired one was already invisible).
constexpr std::string_view kEraseScript = R"lua(
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if not live(v, tonumber(ARGV[2])) then return 0 end
advance()
return 1
)lua";

// ARGV: now, then fields that were expired when scanned. Deletes those still
// expired (one may have been replaced since); replies how many.
constexpr std::string_view kPurgeScript = R"lua(
local now = tonumber(ARGV[1])
local n = 0
for i = 2, #ARGV do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v and not live(v, now) then
    redis.call('HDEL', KEYS[1], ARGV[i])
    n = n + 1
  end
end
if n > 0 then advance() end
return n
)lua";

std::string script_text(std::string_view body) {
  std::string text(kPrelude);
  text += body;
  return text;
}

std::string encode(const AttributeStore::Record& record) {
  const std::uint64_t e =
      record.expires_at ? static_cast<std::uint64_t>(*record.expires_at) : kNever;
  std::string out(kExpiryBytes, '\0');
  for (std::size_t i = 0; i < kExpiryBytes; ++i) {
    out[i] = static_cast<char>(static_cast<unsigned char>((e >> (8 * i)) & 0xFF));
  }
  out += record.value;
  return out;
}

struct Stored {
  std::optional<Micros> expires_at;
  std::string_view value;  // into the reply
};

// A stored value, or nullopt when it is malformed (counts as expired).
std::optional<Stored> decode(std::string_view raw) {
  if (raw.size() < kExpiryBytes) return std::nullopt;
  std::uint64_t e = 0;
  for (std::size_t i = 0; i < kExpiryBytes; ++i) {
    e |= std::uint64_t{static_cast<unsigned char>(raw[i])} << (8 * i);
  }
  Stored s;
  s.value = raw.substr(kExpiryBytes);
  if (e == kNever) return s;
  if (e > static_cast<std::uint64_t>(kMaxInstant)) return std::nullopt;
  s.expires_at = static_cast<Micros>(e);
  return s;
}

bool live(const std::optional<Stored>& s, Micros now) {
  return s && (!s->expires_at || *s->expires_at > now);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// HSCAN MATCH pattern for the fields starting with `prefix`: glob
// metacharacters escaped, then '*'.
std::string match_pattern(std::string_view prefix) {
  std::string p;
  p.reserve(prefix.size() + 1);
  for (const char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') p += '\\';
    p += c;
  }
  p += '*';
  return p;
}

std::string_view text_of(const redisReply& r) { return {r.str, r.len}; }

RedisStoreOptions with_small_pool(RedisStoreOptions o) {
  o.pool_size = std::min(o.pool_size, kMaxPoolSize);
  return o;
}

}  // namespace

struct RedisAttributeStore::Impl {
  explicit Impl(RedisStoreOptions o)
      : options(std::move(o)),
        router(with_small_pool(options)),
        hash(options.key_prefix + "{attrs}"),
        gen(hash + ":gen"),
        slot(redis::key_slot(hash)) {}

  [[noreturn]] void unexpected(std::string_view what) {
    Counters::bump(router.counters().errors);
    throw StoreUnavailable(
        StoreUnavailable::Kind::reply,
        "redis: unexpected reply to " + std::string(what) + " on '" + hash + "'");
  }

  // EVALSHA of `script` over the hash and the generation; expects an integer.
  long long run_script(redis::Script& script, std::vector<std::string> argv,
                       std::string_view what) {
    Command cmd;
    cmd.args.reserve(5 + argv.size());
    cmd.args = {"EVALSHA", "", "2", hash, gen};
    for (std::string& a : argv) cmd.args.push_back(std::move(a));
    const Reply r = router.run_script(script, cmd, slot, what);
    if (r->type != REDIS_REPLY_INTEGER) unexpected(what);
    return r->integer;
  }

  // One HSCAN step from `cursor`; calls fn(field, stored value) per field and
  // returns the next cursor ("0": done). Fields may repeat across steps.
  std::string scan_step(const std::string& cursor, const std::string& match,
                        const std::function<void(std::string_view, std::string_view)>& fn) {
    Command cmd{{"HSCAN", hash, cursor, "COUNT", kScanCount}};
    if (!match.empty()) {
      cmd.args.emplace_back("MATCH");
      cmd.args.push_back(match);
    }
    const Reply r = router.run(std::move(cmd), slot, "HSCAN");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY ||
        r->element[1]->elements % 2 != 0) {
      unexpected("HSCAN");
    }
    const redisReply& pairs = *r->element[1];
    for (std::size_t i = 0; i < pairs.elements; i += 2) {
      if (pairs.element[i]->type != REDIS_REPLY_STRING ||
          pairs.element[i + 1]->type != REDIS_REPLY_STRING) {
        unexpected("HSCAN");
      }
      fn(text_of(*pairs.element[i]), text_of(*pairs.element[i + 1]));
    }
    return std::string(text_of(*r->element[0]));
  }

  std::optional<Record> get(std::string_view key, Micros now) {
    const Reply r = router.run(Command{{"HGET", hash, std::string(key)}}, slot, "HGET");
    if (r->type == REDIS_REPLY_NIL) return std::nullopt;
    if (r->type != REDIS_REPLY_STRING) unexpected("HGET");
    const std::optional<Stored> s = decode(text_of(*r));
    if (!live(s, now)) return std::nullopt;
    return Record{std::string(key), std::string(s->value), s->expires_at};
  }

  std::vector<Record> list(std::string_view prefix, Micros now) {
    // Keyed by field: HSCAN may return a field twice (the later copy wins),
    // and the map sorts bytewise, as std::string compares.
    std::map<std::string, Record, std::less<>> found;
    const std::string match = prefix.empty() ? std::string() : match_pattern(prefix);
    std::string cursor = "0";
    do {
      cursor = scan_step(cursor, match, [&](std::string_view field, std::string_view raw) {
        if (!starts_with(field, prefix)) return;
        const std::optional<Stored> s = decode(raw);
        if (live(s, now)) {
          found.insert_or_assign(std::string(field),
                                 Record{std::string(field), std::string(s->value), s->expires_at});
        } else if (const auto it = found.find(field); it != found.end()) {
          found.erase(it);
        }
      });
    } while (cursor != "0");
    std::vector<Record> out;
    out.reserve(found.size());
    for (auto& [field, record] : found) out.push_back(std::move(record));
    return out;
  }

  std::size_t purge_expired(Micros now) {
    std::size_t purged = 0;
    std::vector<std::string> batch;
    auto flush = [&] {
      if (batch.empty()) return;
      batch.insert(batch.begin(), std::to_string(now));
      purged +=
          static_cast<std::size_t>(run_script(purge_script, std::move(batch), "purge script"));
      batch.clear();
    };
    std::string cursor = "0";
    do {
      cursor = scan_step(cursor, {}, [&](std::string_view field, std::string_view raw) {
        if (live(decode(raw), now)) return;
        batch.emplace_back(field);
        if (batch.size() >= kPurgeBatch) flush();
      });
    } while (cursor != "0");
    flush();
    return purged;
  }

  std::uint64_t generation() {
    const Reply r = router.run(Command{{"GET", gen}}, slot, "GET");
    if (r->type == REDIS_REPLY_NIL) return 0;
    std::uint64_t g = 0;
    if (r->type == REDIS_REPLY_STRING) {
      const std::string_view t = text_of(*r);
      const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), g);
      if (ec == std::errc() && end == t.data() + t.size()) return g;
    }
    unexpected("GET");
  }

  RedisStoreOptions options;
  redis::Router router;
  const std::string hash;  // <prefix>{attrs}
  const std::string gen;   // <prefix>{attrs}:gen
  const int slot;          // both keys' Cluster slot
  const std::string put_text = script_text(kPutScript);
  const std::string erase_text = script_text(kEraseScript);
  const std::string purge_text = script_text(kPurgeScript);
  redis::Script put_script{put_text};
  redis::Script erase_script{erase_text};
  redis::Script purge_script{purge_text};
};

RedisAttributeStore::RedisAttributeStore(RedisStoreOptions options)
    : impl_(std::make_unique<Impl>(redis::validated(std::move(options)))) {}
RedisAttributeStore::~RedisAttributeStore() = default;

std::optional<AttributeStore::Record> RedisAttributeStore::get(std::string_view key, Micros now) {
  validate_attribute_key(key);
  validate_instant(now);
  return impl_->get(key, now);
}

void RedisAttributeStore::put(const Record& record) {
  validate_attribute_record(record);
  (void)impl_->run_script(impl_->put_script, {record.key, encode(record)}, "put script");
}

bool RedisAttributeStore::erase(std::string_view key, Micros now) {
  validate_attribute_key(key);
  validate_instant(now);
  return impl_->run_script(impl_->erase_script, {std::string(key), std::to_string(now)},
                           "erase script") == 1;
}

std::vector<AttributeStore::Record> RedisAttributeStore::list(std::string_view prefix, Micros now) {
  validate_instant(now);
  return impl_->list(prefix, now);
}

std::size_t RedisAttributeStore::purge_expired(Micros now) {
  validate_instant(now);
  return impl_->purge_expired(now);
}

std::uint64_t RedisAttributeStore::generation() { return impl_->generation(); }

RedisStats RedisAttributeStore::redis_stats() const { return impl_->router.counters().snapshot(); }

const RedisStoreOptions& RedisAttributeStore::options() const noexcept { return impl_->options; }

std::string RedisAttributeStore::hash_key() const { return impl_->hash; }

std::string RedisAttributeStore::generation_key() const { return impl_->gen; }

}  // namespace ratelimit
