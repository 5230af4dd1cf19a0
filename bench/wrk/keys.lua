-- The key mix of the load scripts (check.lua, proxy.lua), loaded with
-- dofile from the repository's root (where the bench scripts run wrk):
-- a share HOT_SHARE of the requests goes to HOT_KEYS keys, each busy enough
-- to be limited; the rest to COLD_KEYS keys that stay under their limit.
local hot_share = tonumber(os.getenv("HOT_SHARE") or "0.1")
local hot_keys = tonumber(os.getenv("HOT_KEYS") or "10")
local cold_keys = tonumber(os.getenv("COLD_KEYS") or "100000")

-- Each wrk thread gets its own seed, so threads do not send the same sequence.
local seed_counter = 0
function setup(thread)
  seed_counter = seed_counter + 1
  thread:set("seed", seed_counter)
end

function init(args)
  math.randomseed((seed or 1) * 7919 + os.time())
end

function next_key()
  if math.random() < hot_share then
    return "hot:" .. math.random(hot_keys)
  end
  return "user:" .. math.random(cold_keys)
end
