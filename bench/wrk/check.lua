-- wrk script for bench/check_bench.sh: POST /v1/check, one limit per key,
-- keys varying per request. The same requests go to nginx (which keys its
-- limit_req zone on the X-User header and ignores the body) and to
-- ratelimitd (which reads the body), so both are asked the same question.
--
-- Keys: a share HOT_SHARE of the requests goes to HOT_KEYS keys, each busy
-- enough to be limited; the rest to COLD_KEYS keys that stay under their
-- limit. Every key: RATE per second with BURST (GCRA, as nginx's
-- limit_req ... burst=BURST nodelay).
local hot_share = tonumber(os.getenv("HOT_SHARE") or "0.1")
local hot_keys = tonumber(os.getenv("HOT_KEYS") or "10")
local cold_keys = tonumber(os.getenv("COLD_KEYS") or "100000")
local rate = tonumber(os.getenv("RATE") or "100")
local burst = tonumber(os.getenv("BURST") or "50")

-- Each wrk thread gets its own seed, so threads do not send the same sequence.
local seed_counter = 0
function setup(thread)
  seed_counter = seed_counter + 1
  thread:set("seed", seed_counter)
end

function init(args)
  math.randomseed((seed or 1) * 7919 + os.time())
end

function request()
  local key
  if math.random() < hot_share then
    key = "hot:" .. math.random(hot_keys)
  else
    key = "user:" .. math.random(cold_keys)
  end
  local body = string.format(
    '{"key":"%s","algorithm":"gcra","limit":%d,"window_ms":1000,"burst":%d}', key, rate, burst)
  return wrk.format("POST", "/v1/check",
    {["Content-Type"] = "application/json", ["X-User"] = key}, body)
end
