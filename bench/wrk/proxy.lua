-- wrk script for bench/proxy_bench.sh: GET /api/items through a rate-limiting
-- proxy, the caller named by the X-User header (nginx keys its limit_req
-- zone on it; ratelimitd's proxy reads it as the user). Same key mix as
-- check.lua: HOT_SHARE of the requests on HOT_KEYS keys (limited), the rest
-- over COLD_KEYS keys (never limited).
local hot_share = tonumber(os.getenv("HOT_SHARE") or "0.1")
local hot_keys = tonumber(os.getenv("HOT_KEYS") or "10")
local cold_keys = tonumber(os.getenv("COLD_KEYS") or "100000")

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
  return wrk.format("GET", "/api/items", {["X-User"] = key})
end
