-- decide.lua: atomic rate-limit decisions in Redis (spec/algorithms.md).
--
-- The Lua twin of include/ratelimit/algorithms/*.hpp. Every step below repeats
-- the C++ floating-point operations in the same order, so both backends produce
-- the same doubles and therefore the same decisions, bit for bit. Redis runs
-- Lua 5.1, whose numbers are IEEE doubles: instants (µs, < 2^53) and counts
-- (< 2^41) are exact integers in them.
--
-- Calling protocol:
--   KEYS[1..n]  the Redis key of each check (n >= 1, distinct)
--   ARGV[1]     now in µs, or "" to read the server clock (TIME)
--   ARGV[2]     cost, integer >= 0 (0 = peek: decide, change nothing)
--   ARGV[3]     "decide" or "refund"
--   then 5 per check: algorithm code, limit, window_us, burst, mode
--     codes: 1 token_bucket, 2 gcra, 3 leaky_bucket, 4 fixed_window,
--            5 sliding_window, 6 sliding_log; mode: 0 police, 1 shape
-- Reply: { now, then per check: allowed (1/0), remaining, reset_after_us,
--          retry_after_us (-1 = infinite), delay_us }.
--
-- "decide" evaluates every check as of `now` and, only when cost > 0 and every
-- check admits, writes every new state (all or none). "refund" undoes a charge
-- of `cost` made at ARGV[1] as far as it still can (Redis Cluster: a later slot
-- denied); it replies with zeros in the same shape.
--
-- State: one string per key, "<code> <field> ...", numbers as %.17g (exact
-- round trip). Each key expires (PX) when its state would equal a new key's, so
-- Redis memory follows the active keys. A missing key, a value of another
-- algorithm or a malformed value is a new key.

local EPS = 1e-9              -- algo::kEps: tolerance in favour of admitting
local MAX_DURATION = 2 ^ 62   -- algo::kMaxReportedDuration (exact in a double)
local INFINITE = -1           -- retry_after when cost > limit: never admissible

-- std::max / std::min exactly: max(a, b) is (a < b) ? b : a, so a NaN or a tie
-- yields the same operand as in C++ (math.max/min make no such promise).
local function max(a, b)
  if a < b then return b end
  return a
end

local function min(a, b)
  if b < a then return b end
  return a
end

-- floor(a / b) for integers, exact below 2^53: the double quotient can round
-- up to the next integer, so correct it with exact integer products. This is
-- C++'s integer `/` for the non-negative instants used here.
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

-- algo::ceil_micros: a duration rounded up to whole µs, ignoring noise below
-- 1e-6 so an exact integer stays exact. `not (x > 1e-6)` also maps NaN to 0.
local function ceil_micros(x)
  if not (x > 1e-6) then return 0 end
  if x >= MAX_DURATION then return MAX_DURATION end
  local v = x - 1e-6
  local t = math.floor(v)
  if t < v then return t + 1 end
  return t
end

-- algo::floor_units: floor(x + EPS), never negative (the `remaining` rule).
local function floor_units(x)
  local f = x + EPS
  if not (f >= 1) then return 0 end
  if f >= MAX_DURATION then return MAX_DURATION end
  return math.floor(f)
end

-- A double as text that tonumber reads back to the same double. tostring and
-- Redis' own conversion keep only 14 digits.
local function num(x)
  return string.format('%.17g', x)
end

local function decision()
  return { allowed = 0, remaining = 0, reset_after = 0, retry_after = 0, delay = 0 }
end

-- ---------------------------------------------------------------------------
-- token_bucket: { last, deficit }, deficit = µs of refill missing (0 .. B*T).

local token_bucket = {}

function token_bucket.fresh(spec, now)
  return { last = now, deficit = 0 }
end

function token_bucket.decode(f)
  if #f ~= 2 then return nil end
  return { last = f[1], deficit = f[2] }
end

function token_bucket.encode(s)
  return '1 ' .. num(s.last) .. ' ' .. num(s.deficit)
end

function token_bucket.expires_at(spec, s)
  return s.last + ceil_micros(s.deficit)
end

function token_bucket.step(spec, s, now, cost)
  local burst, k, interval, rate = spec.burst, cost, spec.interval, spec.rate
  -- Refill; a clock that went back counts as no time passing.
  local elapsed = 0
  if now > s.last then elapsed = now - s.last end
  local next = { last = max(s.last, now), deficit = max(0, s.deficit - elapsed) }
  local tokens = burst - next.deficit * rate
  local d = decision()
  if tokens + EPS >= k then
    d.allowed = 1
    next.deficit = min(burst * interval, next.deficit + k * interval)
  elseif cost > spec.burst then
    d.retry_after = INFINITE
  else
    d.retry_after = max(1, ceil_micros((k - tokens) * interval))
  end
  d.remaining = floor_units(burst - next.deficit * rate)
  d.reset_after = ceil_micros(next.deficit)
  return d, next, token_bucket.expires_at(spec, next)
end

function token_bucket.refund(spec, s, now, cost)
  return { last = s.last, deficit = max(0, s.deficit - cost * spec.interval) }
end

-- ---------------------------------------------------------------------------
-- gcra: { anchor, offset }, tat = anchor + offset. The integer anchor keeps
-- sub-µs precision in tat - now (a lone ~2^51 double would round to 0.25 µs).

local gcra = {}

function gcra.fresh(spec, now)
  return { anchor = now, offset = 0 }
end

function gcra.decode(f)
  if #f ~= 2 then return nil end
  return { anchor = f[1], offset = f[2] }
end

function gcra.encode(s)
  return '2 ' .. num(s.anchor) .. ' ' .. num(s.offset)
end

function gcra.expires_at(spec, s)
  return s.anchor + ceil_micros(s.offset)
end

function gcra.step(spec, s, now, cost)
  local interval = spec.interval
  local tolerance = spec.burst * interval  -- B*T
  -- A clock that went back counts as no time passing: decide as of the later
  -- of now and the anchor, as token_bucket does with its `last`.
  local at = max(now, s.anchor)
  -- tat0 - at, where tat0 = max(tat, at); the integer part is exact.
  local tat0 = max(0, (s.anchor - at) + s.offset)
  local new_tat = tat0 + cost * interval
  local d = decision()
  local next = s
  local after = tat0
  if new_tat <= tolerance + EPS * interval then
    d.allowed = 1
    after = new_tat
    next = { anchor = at, offset = new_tat }
  elseif cost > spec.burst then
    d.retry_after = INFINITE
  else
    d.retry_after = max(1, ceil_micros(new_tat - tolerance))
  end
  d.remaining = floor_units((tolerance - after) / interval)
  d.reset_after = ceil_micros(after)
  return d, next, gcra.expires_at(spec, next)
end

-- Moves tat back by the charge, but never below the anchor: the anchor (state
-- time) never moves backwards.
function gcra.refund(spec, s, now, cost)
  return { anchor = s.anchor, offset = max(0, s.offset - cost * spec.interval) }
end

-- ---------------------------------------------------------------------------
-- leaky_bucket: { last, drain }, drain = µs until the queue is empty; level =
-- drain * r.

local leaky_bucket = {}

function leaky_bucket.fresh(spec, now)
  return { last = now, drain = 0 }
end

function leaky_bucket.decode(f)
  if #f ~= 2 then return nil end
  return { last = f[1], drain = f[2] }
end

function leaky_bucket.encode(s)
  return '3 ' .. num(s.last) .. ' ' .. num(s.drain)
end

function leaky_bucket.expires_at(spec, s)
  return s.last + ceil_micros(s.drain)
end

function leaky_bucket.step(spec, s, now, cost)
  local capacity, k, interval, rate = spec.burst, cost, spec.interval, spec.rate
  local elapsed = 0
  if now > s.last then elapsed = now - s.last end
  local next = { last = max(s.last, now), drain = max(0, s.drain - elapsed) }
  local level = next.drain * rate
  local d = decision()
  if level + k <= capacity + EPS then
    d.allowed = 1
    -- Shaping: the request waits behind what is queued. A peek queues nothing.
    if spec.mode == 1 and cost > 0 then d.delay = ceil_micros(next.drain) end
    next.drain = next.drain + k * interval
  elseif cost > spec.burst then
    d.retry_after = INFINITE
  else
    d.retry_after = max(1, ceil_micros((level + k - capacity) * interval))
  end
  d.remaining = floor_units(capacity - next.drain * rate)
  d.reset_after = ceil_micros(next.drain)
  return d, next, leaky_bucket.expires_at(spec, next)
end

function leaky_bucket.refund(spec, s, now, cost)
  return { last = s.last, drain = max(0, s.drain - cost * spec.interval) }
end

-- ---------------------------------------------------------------------------
-- fixed_window: { window_end, count }; the window is held by its end instant.

local fixed_window = {}

-- End of the epoch-aligned window containing `now`.
local function window_end(now, window)
  return (idiv(now, window) + 1) * window
end

function fixed_window.fresh(spec, now)
  return { window_end = window_end(now, spec.window), count = 0 }
end

function fixed_window.decode(f)
  if #f ~= 2 then return nil end
  return { window_end = f[1], count = f[2] }
end

function fixed_window.encode(s)
  return '4 ' .. num(s.window_end) .. ' ' .. num(s.count)
end

function fixed_window.expires_at(spec, s)
  if s.count > 0 then return s.window_end end
  return 0
end

function fixed_window.step(spec, s, now, cost)
  local limit = spec.limit
  local current_end = window_end(now, spec.window)
  -- A newer window starts empty. A clock that stepped back into an older
  -- window keeps counting in the newer one: going back never mints capacity.
  local next
  if s.window_end < current_end then
    next = { window_end = current_end, count = 0 }
  else
    next = { window_end = s.window_end, count = s.count }
  end
  local d = decision()
  if next.count + cost <= limit then
    d.allowed = 1
    next.count = next.count + cost
  elseif cost > limit then
    d.retry_after = INFINITE
  else
    d.retry_after = max(1, next.window_end - now)
  end
  d.remaining = max(0, limit - next.count)
  if next.count > 0 then d.reset_after = next.window_end - now end
  return d, next, fixed_window.expires_at(spec, next)
end

-- Only a charge in the stored window can still be undone; an older window's
-- count is already gone.
function fixed_window.refund(spec, s, now, cost)
  if s.window_end ~= window_end(now, spec.window) then return s end
  return { window_end = s.window_end, count = max(0, s.count - cost) }
end

-- ---------------------------------------------------------------------------
-- sliding_window: { horizon, curr, prev }: counts of window id and id-1, the
-- window held as horizon = (id+2)*W, the last instant the counts can matter.

local sliding_window = {}

function sliding_window.fresh(spec, now)
  return { horizon = (idiv(now, spec.window) + 2) * spec.window, curr = 0, prev = 0 }
end

function sliding_window.decode(f)
  if #f ~= 3 then return nil end
  return { horizon = f[1], curr = f[2], prev = f[3] }
end

function sliding_window.encode(s)
  return '5 ' .. num(s.horizon) .. ' ' .. num(s.curr) .. ' ' .. num(s.prev)
end

-- Conservative when only prev is non-zero (the true instant is a window earlier).
function sliding_window.expires_at(spec, s)
  if s.curr > 0 or s.prev > 0 then return s.horizon end
  return 0
end

function sliding_window.step(spec, s, now, cost)
  local window, limit = spec.window, spec.limit
  local w, lim, k = window, limit, cost
  -- Roll the stored counts forward to the current window. A clock that went
  -- back stays in the stored (newer) window: it never mints capacity.
  local stored_id = idiv(s.horizon, window) - 2
  local now_id = idiv(now, window)
  local next = { horizon = s.horizon, curr = s.curr, prev = s.prev }
  local id = stored_id
  if now_id > stored_id then
    id = now_id
    if now_id == stored_id + 1 then next.prev = s.curr else next.prev = 0 end
    next.curr = 0
    next.horizon = (id + 2) * window
  end
  local window_start = id * window
  local elapsed = max(0, now - window_start)
  local prev, curr = next.prev, next.curr
  local estimate = prev * (w - elapsed) / w + curr
  local d = decision()
  local estimate_after = estimate
  if estimate + k <= lim + EPS then
    d.allowed = 1
    next.curr = next.curr + cost
    estimate_after = estimate + k
  elseif cost > limit then
    d.retry_after = INFINITE
  else
    local room = lim - k - curr
    -- µs from now to the next window's start; exact integers before scaling.
    local to_next = window_start + window - now
    local wait
    if room >= 0 then
      wait = to_next - room * w / prev
    else
      -- Wait into the next window, where today's curr becomes prev.
      wait = max(to_next, to_next + w - (lim - k) * w / curr)
    end
    d.retry_after = max(1, ceil_micros(wait))
  end
  d.remaining = floor_units(lim - estimate_after)
  if next.curr > 0 then
    d.reset_after = window_start + 2 * window - now
  elseif next.prev > 0 then
    d.reset_after = window_start + window - now
  end
  return d, next, sliding_window.expires_at(spec, next)
end

-- The charge counts in `curr` while its window is the stored one, and in
-- `prev` once the stored window is the next one; older, it no longer counts.
function sliding_window.refund(spec, s, now, cost)
  local stored_id = idiv(s.horizon, spec.window) - 2
  local now_id = idiv(now, spec.window)
  if stored_id == now_id then
    return { horizon = s.horizon, curr = max(0, s.curr - cost), prev = s.prev }
  elseif stored_id == now_id + 1 then
    return { horizon = s.horizon, curr = s.curr, prev = max(0, s.prev - cost) }
  end
  return s
end

-- ---------------------------------------------------------------------------
-- sliding_log: { at = {...}, cost = {...} }, the admitted requests oldest
-- first; requests admitted at the same instant share one entry.

local sliding_log = {}

function sliding_log.fresh(spec, now)
  return { at = {}, cost = {} }
end

function sliding_log.decode(f)
  if #f % 2 ~= 0 then return nil end
  local s = { at = {}, cost = {} }
  for i = 1, #f, 2 do
    s.at[#s.at + 1] = f[i]
    s.cost[#s.cost + 1] = f[i + 1]
  end
  return s
end

function sliding_log.encode(s)
  local parts = { '6' }
  for i = 1, #s.at do
    parts[#parts + 1] = num(s.at[i])
    parts[#parts + 1] = num(s.cost[i])
  end
  return table.concat(parts, ' ')
end

function sliding_log.expires_at(spec, s)
  if #s.at == 0 then return 0 end
  return s.at[#s.at] + spec.window
end

-- A copy without the entries that no longer count at `now` (at <= now - W),
-- and the total cost of those left.
local function prune(s, now, window)
  local first = 1
  while first <= #s.at and s.at[first] <= now - window do first = first + 1 end
  local out, used = { at = {}, cost = {} }, 0
  for i = first, #s.at do
    out.at[#out.at + 1] = s.at[i]
    out.cost[#out.cost + 1] = s.cost[i]
    used = used + s.cost[i]
  end
  return out, used
end

function sliding_log.step(spec, s, now, cost)
  local window, limit = spec.window, spec.limit
  local log, used = prune(s, now, window)
  local n = #log.at
  local d = decision()
  local used_after = used
  local newest_after = 0
  if n > 0 then newest_after = log.at[n] end
  if used + cost <= limit then
    d.allowed = 1
    if cost > 0 then
      used_after = used_after + cost
      -- Instants never go back in the log: a clock that stepped back records
      -- at the newest instant (conservative), merging into that entry.
      if n > 0 and now <= log.at[n] then
        log.cost[n] = log.cost[n] + cost
      else
        log.at[n + 1] = now
        log.cost[n + 1] = cost
      end
      newest_after = log.at[#log.at]
    end
  elseif cost > limit then
    d.retry_after = INFINITE
  else
    -- Oldest first: the first entry whose expiry frees enough room.
    local expired = 0
    for i = 1, n do
      expired = expired + log.cost[i]
      if used - expired <= limit - cost then
        d.retry_after = max(1, log.at[i] + window - now)
        break
      end
    end
  end
  d.remaining = max(0, limit - used_after)
  if used_after > 0 then d.reset_after = max(0, newest_after + window - now) end
  return d, log, sliding_log.expires_at(spec, log)
end

-- The charge made at `now` is in the entry at `now`, or, if it arrived at or
-- before the newest instant, merged into the newest entry. An entry reaching 0
-- is removed.
function sliding_log.refund(spec, s, now, cost)
  local log = prune(s, now, spec.window)
  local n = #log.at
  local i = nil
  for j = n, 1, -1 do
    if log.at[j] == now then i = j break end
  end
  if i == nil and n > 0 and now < log.at[n] then i = n end
  if i == nil then return log end
  log.cost[i] = max(0, log.cost[i] - cost)
  if log.cost[i] == 0 then
    table.remove(log.at, i)
    table.remove(log.cost, i)
  end
  return log
end

-- ---------------------------------------------------------------------------

local ALGORITHMS = { token_bucket, gcra, leaky_bucket, fixed_window, sliding_window, sliding_log }

-- The stored state of `key` for `code`, or nil when the key is missing, holds
-- another algorithm's state, or cannot be read (then it counts as a new key).
local function load(key, code)
  -- pcall: a key of another Redis type (WRONGTYPE) is also a new key; the
  -- SET of a commit replaces it.
  local raw = redis.pcall('GET', key)
  if type(raw) ~= 'string' then return nil end
  local fields = {}
  for token in string.gmatch(raw, '%S+') do
    local v = tonumber(token)
    -- v ~= v: NaN; math.huge: an infinity. Neither is a state we wrote.
    if v == nil or v ~= v or v == math.huge or v == -math.huge then return nil end
    fields[#fields + 1] = v
  end
  if fields[1] ~= code then return nil end
  table.remove(fields, 1)
  return ALGORITHMS[code].decode(fields)
end

-- Stores `value` until `expires_at`, when it would equal a new key's state;
-- an already fresh state is simply deleted.
local function store(key, value, expires_at, now)
  if expires_at <= now then
    redis.call('DEL', key)
    return
  end
  local ttl_ms = max(1, idiv(expires_at - now + 999, 1000))  -- ceil to whole ms
  redis.call('SET', key, value, 'PX', num(ttl_ms))
end

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local cost = tonumber(ARGV[2])
local op = ARGV[3]
if now == nil or cost == nil then
  return redis.error_reply('ERR decide.lua: now and cost must be numbers')
end

local checks = {}
for i = 1, #KEYS do
  local base = 3 + 5 * (i - 1)
  local code = tonumber(ARGV[base + 1])
  local limit = tonumber(ARGV[base + 2])
  local window = tonumber(ARGV[base + 3])
  if ALGORITHMS[code] == nil or limit == nil or window == nil then
    return redis.error_reply('ERR decide.lua: bad parameters for check ' .. i)
  end
  checks[i] = {
    key = KEYS[i],
    code = code,
    algo = ALGORITHMS[code],
    spec = {
      limit = limit,
      window = window,
      burst = tonumber(ARGV[base + 4]) or limit,
      mode = tonumber(ARGV[base + 5]) or 0,
      rate = limit / window,      -- LimitSpec::rate()
      interval = window / limit,  -- LimitSpec::interval()
    },
  }
end

local reply = { now }

if op == 'decide' then
  local all_allowed = true
  for _, c in ipairs(checks) do
    local s = load(c.key, c.code) or c.algo.fresh(c.spec, now)
    local d, next, expires_at = c.algo.step(c.spec, s, now, cost)
    c.next, c.expires_at = next, expires_at
    if d.allowed == 0 then all_allowed = false end
    reply[#reply + 1] = d.allowed
    reply[#reply + 1] = d.remaining
    reply[#reply + 1] = d.reset_after
    reply[#reply + 1] = d.retry_after
    reply[#reply + 1] = d.delay
  end
  -- All or none: a denial anywhere, or a peek, leaves Redis unchanged.
  if cost > 0 and all_allowed then
    for _, c in ipairs(checks) do
      store(c.key, c.algo.encode(c.next), c.expires_at, now)
    end
  end
elseif op == 'refund' then
  for _, c in ipairs(checks) do
    local s = load(c.key, c.code)
    if s ~= nil then
      local next = c.algo.refund(c.spec, s, now, cost)
      store(c.key, c.algo.encode(next), c.algo.expires_at(c.spec, next), now)
    end
    for _ = 1, 5 do reply[#reply + 1] = 0 end
  end
else
  return redis.error_reply('ERR decide.lua: op must be decide or refund')
end

return reply
