-- wrk script for bench/check_bench.sh: POST /v1/check, one limit per key,
-- keys varying per request (keys.lua). The same requests go to nginx (which
-- keys its limit_req zone on the X-User header and ignores the body) and to
-- ratelimitd (which reads the body), so both are asked the same question.
-- Every key: RATE per second with BURST (GCRA, as nginx's
-- limit_req ... burst=BURST nodelay).
dofile("bench/wrk/keys.lua")
local rate = tonumber(os.getenv("RATE") or "100")
local burst = tonumber(os.getenv("BURST") or "50")

function request()
  local key = next_key()
  local body = string.format(
    '{"key":"%s","algorithm":"gcra","limit":%d,"window_ms":1000,"burst":%d}', key, rate, burst)
  return wrk.format("POST", "/v1/check",
    {["Content-Type"] = "application/json", ["X-User"] = key}, body)
end
