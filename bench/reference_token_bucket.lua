-- The reference for bench/redis_bench.sh: a typical single-key token bucket
-- script, as widely deployed (tokens and timestamp in a hash, refill, take
-- one, expire). redis-benchmark runs it with EVALSHA to measure what Redis
-- itself can serve at a given concurrency; our client is compared with it.
-- KEYS[1] bucket; ARGV[1] capacity; ARGV[2] refill per second.
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1)
return {allowed, math.floor(tokens)}
