-- wrk script for bench/proxy_bench.sh: GET /api/items through a rate-limiting
-- proxy, the caller named by the X-User header (nginx keys its limit_req
-- zone on it; ratelimitd's proxy reads it as the user). Keys: keys.lua.
dofile("bench/wrk/keys.lua")

function request()
  return wrk.format("GET", "/api/items", {["X-User"] = next_key()})
end
