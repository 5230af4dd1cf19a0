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
--   ARGV[2]     the decision's cost, integer >= 0 (0 = peek: decide, change nothing)
--   ARGV[3]     "decide" or "refund"
--   then 6 per check: algorithm code, limit, window_us, burst, mode, cost
--     codes: 1 token_bucket, 2 gcra, 3 leaky_bucket, 4 fixed_window,
--            5 sliding_window, 6 sliding_log; mode: 0 police, 1 shape;
--     cost: the units this check is charged, integer >= 0 (the client
--     resolves Check::kDecisionCost to the decision's cost); ignored (0)
--     when the decision's cost is 0
-- Reply: { now, then per check: allowed (1/0), remaining, reset_after_us,
--          retry_after_us (-1 = infinite), delay_us }.
--
-- "decide" evaluates every check as of `now` with its own cost and, only when
-- the decision's cost > 0 and every check admits, writes the new state of
-- every check charged more than 0 (all or none). "refund" undoes a charge of
-- each check's cost made at ARGV[1] as far as it still can (Redis Cluster: a
-- later slot denied); it replies with zeros in the same shape.
--
-- "batch" runs several independent decisions, one after another, in one call
-- (the client merges concurrent callers' decisions: one script run instead of
-- many). ARGV[1] is unused (""), ARGV[2] is the number of decisions D,
-- ARGV[4] the number of distinct limits S, then 5 per limit (algorithm code,
-- limit, window_us, burst, mode: read once, however many checks share it).
-- Then each decision brings its own: now ("" = TIME), cost, number of checks
-- m, then 2 per check: its limit's number (1..S) and its cost; KEYS hold
-- every decision's keys in order. Each decision is all-or-none on its own,
-- exactly as if sent alone in that order. Reply: { now of the first
-- decision, then 5 per check of every decision }.
--
-- State: one string per key, binary (struct.pack, little-endian): the
-- algorithm code as a byte, then the state's numbers as doubles (exact, and
-- far cheaper than text). Each key expires (PX) when its state would equal a
-- new key's, so Redis memory follows the active keys. A missing key, a value
-- of another algorithm or a malformed value is a new key.
--
-- Speed: Redis runs this whole chunk on every EVALSHA, so every closure and
-- table created at top level costs each decision. Hence one step function per
-- algorithm returning plain values (no per-call tables), and few helpers.

local EPS = 1e-9              -- algo::kEps: tolerance in favour of admitting
local MAX_DURATION = 2 ^ 62   -- algo::kMaxReportedDuration (exact in a double)
local INFINITE = -1           -- retry_after when cost > limit: never admissible
local PER_CHECK = 6           -- ARGV entries per check (decide, refund)
local PER_LIMIT = 5           -- ARGV entries per distinct limit (batch)
local PER_BATCH_CHECK = 2     -- ARGV entries per check (batch): limit number, cost
local floor = math.floor
local pack, unpack = struct.pack, struct.unpack

-- std::max / std::min exactly: max(a, b) is (a < b) ? b : a, so a tie yields
-- the same operand as in C++.
local function max(a, b)
  if a < b then return b end
  return a
end

-- floor(a / b) for non-negative integers, exact below 2^53 (C++'s integer
-- `/`): the double quotient can round up, so correct it with exact products.
local function idiv(a, b)
  local q = floor(a / b)
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
  local t = floor(v)
  if t < v then return t + 1 end
  return t
end

-- algo::expiry_micros: ceil_micros, but never 0 while x > 0, so a state
-- charged by less than 1e-6 µs is still kept (and counted).
local function expiry_micros(x)
  if x > 0 then return max(1, ceil_micros(x)) end
  return 0
end

-- algo::floor_units: floor(x + EPS), never negative (the `remaining` rule).
local function floor_units(x)
  local f = x + EPS
  if not (f >= 1) then return 0 end
  if f >= MAX_DURATION then return MAX_DURATION end
  return floor(f)
end

-- ---------------------------------------------------------------------------
-- Step functions. Each takes the spec's numbers, the state's numbers (a fresh
-- state when the key is new) and (now, cost); it returns allowed, remaining,
-- reset_after, retry_after, delay, then the next state's numbers and the
-- instant it expires (equals a new key's).

-- token_bucket: (last, deficit), deficit = µs of refill missing (0 .. B*T).
local function token_bucket(burst, interval, rate, last, deficit, now, k)
  -- Refill; a clock that went back counts as no time passing.
  local elapsed = 0
  if now > last then elapsed = now - last end
  local n_last, n_deficit = max(last, now), max(0, deficit - elapsed)
  local tokens = burst - n_deficit * rate
  local allowed, retry = 0, 0
  if tokens + EPS >= k then
    allowed = 1
    local d = n_deficit + k * interval
    local full = burst * interval
    if full < d then d = full end
    n_deficit = d
  elseif k > burst then
    retry = INFINITE
  else
    retry = max(1, ceil_micros((k - tokens) * interval))
  end
  local reset = ceil_micros(n_deficit)
  return allowed, floor_units(burst - n_deficit * rate), reset, retry, 0, n_last, n_deficit,
         n_last + expiry_micros(n_deficit)
end

-- gcra: (anchor, offset), tat = anchor + offset. The integer anchor keeps
-- sub-µs precision in tat - now (a lone ~2^51 double would round to 0.25 µs).
local function gcra(burst, interval, anchor, offset, now, k)
  local tolerance = burst * interval  -- B*T
  -- A clock that went back counts as no time passing: decide as of the later
  -- of now and the anchor, as token_bucket does with its `last`.
  local at = max(now, anchor)
  local tat0 = max(0, (anchor - at) + offset)  -- tat0 - at; the integer part is exact
  local new_tat = tat0 + k * interval
  local allowed, retry, after = 0, 0, tat0
  local n_anchor, n_offset = anchor, offset
  if new_tat <= tolerance + EPS * interval then
    allowed, after = 1, new_tat
    n_anchor, n_offset = at, new_tat
  elseif k > burst then
    retry = INFINITE
  else
    retry = max(1, ceil_micros(new_tat - tolerance))
  end
  return allowed, floor_units((tolerance - after) / interval), ceil_micros(after), retry, 0,
         n_anchor, n_offset, n_anchor + expiry_micros(n_offset)
end

-- leaky_bucket: (last, drain), drain = µs until the queue is empty; level = drain * r.
local function leaky_bucket(capacity, interval, rate, shape, last, drain, now, k)
  local elapsed = 0
  if now > last then elapsed = now - last end
  local n_last, n_drain = max(last, now), max(0, drain - elapsed)
  local level = n_drain * rate
  local allowed, retry, delay = 0, 0, 0
  if level + k <= capacity + EPS then
    allowed = 1
    -- Shaping: the request waits behind what is queued. A peek queues nothing.
    if shape and k > 0 then delay = ceil_micros(n_drain) end
    n_drain = n_drain + k * interval
  elseif k > capacity then
    retry = INFINITE
  else
    retry = max(1, ceil_micros((level + k - capacity) * interval))
  end
  local reset = ceil_micros(n_drain)
  return allowed, floor_units(capacity - n_drain * rate), reset, retry, delay, n_last, n_drain,
         n_last + expiry_micros(n_drain)
end

-- fixed_window: (window_end, count); the window is held by its end instant.
local function fixed_window(limit, window, w_end, count, now, k)
  local current_end = (idiv(now, window) + 1) * window
  -- A newer window starts empty. A clock that stepped back into an older
  -- window keeps counting in the newer one: going back never mints capacity.
  if w_end < current_end then w_end, count = current_end, 0 end
  local allowed, retry = 0, 0
  if count + k <= limit then
    allowed = 1
    count = count + k
  elseif k > limit then
    retry = INFINITE
  else
    retry = max(1, w_end - now)
  end
  local reset, expires = 0, 0
  if count > 0 then reset, expires = w_end - now, w_end end
  return allowed, max(0, limit - count), reset, retry, 0, w_end, count, expires
end

-- sliding_window: (horizon, curr, prev): counts of window id and id-1, the
-- window held as horizon = (id+2)*W, the last instant the counts can matter.
local function sliding_window(limit, window, horizon, curr, prev, now, k)
  local w, lim = window, limit
  -- Roll the stored counts forward to the current window. A clock that went
  -- back stays in the stored (newer) window: it never mints capacity.
  local stored_id = idiv(horizon, window) - 2
  local now_id = idiv(now, window)
  local id = stored_id
  if now_id > stored_id then
    id = now_id
    if now_id == stored_id + 1 then prev = curr else prev = 0 end
    curr = 0
    horizon = (id + 2) * window
  end
  local window_start = id * window
  local elapsed = max(0, now - window_start)
  local estimate = prev * (w - elapsed) / w + curr
  local allowed, retry, estimate_after = 0, 0, estimate
  local n_curr = curr
  if estimate + k <= lim + EPS then
    allowed = 1
    n_curr = curr + k
    estimate_after = estimate + k
  elseif k > limit then
    retry = INFINITE
  else
    local room = lim - k - curr
    local to_next = window_start + window - now  -- exact integers before scaling
    local wait
    if room >= 0 then
      wait = to_next - room * w / prev
    else
      -- Wait into the next window, where today's curr becomes prev.
      wait = max(to_next, to_next + w - (lim - k) * w / curr)
    end
    retry = max(1, ceil_micros(wait))
  end
  local reset, expires = 0, 0
  if n_curr > 0 then
    reset = window_start + 2 * window - now
  elseif prev > 0 then
    reset = window_start + window - now
  end
  -- Conservative when only prev is non-zero (the true instant is a window earlier).
  if n_curr > 0 or prev > 0 then expires = horizon end
  return allowed, floor_units(lim - estimate_after), reset, retry, 0, horizon, n_curr, prev, expires
end

-- sliding_log: parallel arrays `at`, `cst` of the admitted requests, oldest
-- first, from index `first` (earlier ones no longer count); requests admitted
-- at the same instant share one entry. Updates the arrays in place on
-- admission (cost > 0) and returns the decision, the new `first` and the expiry.
local function sliding_log(limit, window, at, cst, now, k)
  local n = #at
  local first = 1
  while first <= n and at[first] <= now - window do first = first + 1 end
  local used = 0
  for i = first, n do used = used + cst[i] end
  local allowed, retry, used_after = 0, 0, used
  local newest_after = 0
  if n >= first then newest_after = at[n] end
  if used + k <= limit then
    allowed = 1
    if k > 0 then
      used_after = used + k
      -- Instants never go back in the log: a clock that stepped back records
      -- at the newest instant (conservative), merging into that entry.
      if n >= first and now <= at[n] then
        cst[n] = cst[n] + k
      else
        n = n + 1
        at[n], cst[n] = now, k
      end
      newest_after = at[n]
    end
  elseif k > limit then
    retry = INFINITE
  else
    -- Oldest first: the first entry whose expiry frees enough room.
    local expired = 0
    for i = first, n do
      expired = expired + cst[i]
      if used - expired <= limit - k then
        retry = max(1, at[i] + window - now)
        break
      end
    end
  end
  local reset, expires = 0, 0
  if used_after > 0 then reset = max(0, newest_after + window - now) end
  if n >= first then expires = at[n] + window end
  return allowed, max(0, limit - used_after), reset, retry, 0, first, expires
end

-- ---------------------------------------------------------------------------
-- Reading and writing states.

-- The log of a sliding_log value (code byte, then (at, cost) pairs), or
-- empty arrays when the value is missing or not a log.
local function read_log(raw)
  local at, cst = {}, {}
  if raw and #raw % 16 == 1 and raw:byte(1) == 6 then
    local pos, i = 2, 0
    while pos < #raw do
      i = i + 1
      at[i], cst[i], pos = unpack('<dd', raw, pos)
    end
  end
  return at, cst
end

local function write_log(at, cst, first)
  local parts = { '\6' }
  for i = first, #at do parts[#parts + 1] = pack('<dd', at[i], cst[i]) end
  return table.concat(parts)
end

-- Client time mode: the caller's clock need not run at Redis's pace (tests
-- and the conformance runner replay instants faster or slower than real
-- time), so a TTL measured on it could end before the caller's clock reaches
-- `expires`. Keys then live this much longer. That is safe: a state past its
-- expiry decides exactly like an absent key, so keeping it changes nothing.
local CLIENT_TIME_TTL_SLACK_MS = 60000
local ttl_slack_ms = 0

-- Stores `value` until `expires`, when it would equal a new key's state; an
-- already fresh state is simply deleted.
local function store(key, value, expires, now)
  if expires <= now then
    redis.call('DEL', key)
  else
    -- ceil to whole ms, as text: no dependence on how Redis formats Lua numbers
    local ms = max(1, idiv(expires - now + 999, 1000)) + ttl_slack_ms
    redis.call('SET', key, value, 'PX', string.format('%d', ms))
  end
end

-- ---------------------------------------------------------------------------

local server_now = nil  -- TIME, read at most once per call
local function instant(arg)
  if arg ~= '' then
    ttl_slack_ms = CLIENT_TIME_TTL_SLACK_MS
    return tonumber(arg)
  end
  if server_now == nil then
    local t = redis.call('TIME')
    server_now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  end
  return server_now
end

local reply = {}
local values, expiries = {}, {}  -- one decision's next states, written if all admit

-- One decision (op decide) or refund over the m checks whose keys start at
-- KEYS[k0 + 1] and whose parameters start at ARGV[a0 + 1]: 6 per check, or
-- with `limits` (op batch) 2 per check naming one of them. `decision_cost`
-- is the decision's cost (0 = peek); each check is charged its own cost.
-- Appends 5 fields per check to `reply`; returns an error message or nil.
local function run(op, now, decision_cost, k0, a0, m, limits)
  local all_allowed = true
  local r = #reply
  for j = 1, m do
    local key = KEYS[k0 + j]
    local code, limit, window, burst, shape, cost
    if limits then
      local base = a0 + PER_BATCH_CHECK * (j - 1)
      local l = limits[tonumber(ARGV[base + 1])]
      if l then code, limit, window, burst, shape = l[1], l[2], l[3], l[4], l[5] end
      cost = tonumber(ARGV[base + 2])
    else
      local base = a0 + PER_CHECK * (j - 1)
      code = tonumber(ARGV[base + 1])
      limit = tonumber(ARGV[base + 2])
      window = tonumber(ARGV[base + 3])
      burst = tonumber(ARGV[base + 4])
      shape = tonumber(ARGV[base + 5]) == 1
      cost = tonumber(ARGV[base + 6])
    end
    if key == nil or code == nil or code < 1 or code > 6 or limit == nil or window == nil or burst == nil or
        cost == nil or cost < 0 then
      return 'ERR decide.lua: bad parameters for check ' .. (k0 + j)
    end
    if decision_cost == 0 then cost = 0 end  -- a peek charges nothing
    local rate, interval = limit / window, window / limit  -- LimitSpec::rate(), interval()
    -- pcall: a key of another Redis type (WRONGTYPE) is a new key too; the SET
    -- of a commit replaces it.
    local raw = redis.pcall('GET', key)
    if type(raw) ~= 'string' then raw = nil end
    local allowed, remaining, reset, retry, delay, value, expires
    if code == 6 then
      local at, cst = read_log(raw)
      if op == 'refund' then
        -- The charge made at `now` is in the entry at `now`, or, if it arrived
        -- at or before the newest instant, merged into the newest entry.
        local n, e = #at, nil
        for x = n, 1, -1 do
          if at[x] == now then e = x break end
        end
        if e == nil and n > 0 and now < at[n] then e = n end
        if e ~= nil and cost > 0 then
          cst[e] = max(0, cst[e] - cost)
          if cst[e] == 0 then
            table.remove(at, e)
            table.remove(cst, e)
          end
          local first = 1
          while first <= #at and at[first] <= now - window do first = first + 1 end
          local exp = 0
          if #at >= first then exp = at[#at] + window end
          store(key, write_log(at, cst, first), exp, now)
        end
      else
        local first
        allowed, remaining, reset, retry, delay, first, expires = sliding_log(limit, window, at, cst, now, cost)
        if allowed == 1 and cost > 0 then value = write_log(at, cst, first) end
      end
    else
      local c0, a, b, c = 0, nil, nil, nil
      if raw then
        if code == 5 and #raw == 25 then
          c0, a, b, c = unpack('<Bddd', raw)
        elseif code ~= 5 and #raw == 17 then
          c0, a, b = unpack('<Bdd', raw)
        end
      end
      local found = c0 == code
      if op == 'refund' then
        if found and cost > 0 then
          local k = cost * interval
          if code == 4 then
            -- Only a charge in the stored window can still be undone.
            if a == (idiv(now, window) + 1) * window then b = max(0, b - cost) end
            local exp = 0
            if b > 0 then exp = a end
            store(key, pack('<Bdd', 4, a, b), exp, now)
          elseif code == 5 then
            -- The charge counts in curr while its window is the stored one, in
            -- prev once the stored window is the next one.
            local stored_id, now_id = idiv(a, window) - 2, idiv(now, window)
            if stored_id == now_id then
              b = max(0, b - cost)
            elseif stored_id == now_id + 1 then
              c = max(0, c - cost)
            end
            local exp = 0
            if b > 0 or c > 0 then exp = a end
            store(key, pack('<Bddd', 5, a, b, c), exp, now)
          else
            -- Buckets: give back k*T of the deficit/offset/drain; state time
            -- (last/anchor) never moves backwards.
            b = max(0, b - k)
            store(key, pack('<Bdd', code, a, b), a + expiry_micros(b), now)
          end
        end
      else
        local na, nb, nc
        if code == 1 then
          if not found then a, b = now, 0 end
          allowed, remaining, reset, retry, delay, na, nb, expires =
            token_bucket(burst, interval, rate, a, b, now, cost)
        elseif code == 2 then
          if not found then a, b = now, 0 end
          allowed, remaining, reset, retry, delay, na, nb, expires = gcra(burst, interval, a, b, now, cost)
        elseif code == 3 then
          if not found then a, b = now, 0 end
          allowed, remaining, reset, retry, delay, na, nb, expires =
            leaky_bucket(burst, interval, rate, shape, a, b, now, cost)
        elseif code == 4 then
          if not found then a, b = (idiv(now, window) + 1) * window, 0 end
          allowed, remaining, reset, retry, delay, na, nb, expires = fixed_window(limit, window, a, b, now, cost)
        else
          if not found then a, b, c = (idiv(now, window) + 2) * window, 0, 0 end
          allowed, remaining, reset, retry, delay, na, nb, nc, expires =
            sliding_window(limit, window, a, b, c, now, cost)
        end
        if allowed == 1 and cost > 0 then
          if code == 5 then
            value = pack('<Bddd', 5, na, nb, nc)
          else
            value = pack('<Bdd', code, na, nb)
          end
        end
      end
    end

    if op == 'refund' then
      allowed, remaining, reset, retry, delay = 0, 0, 0, 0, 0
    elseif allowed == 0 then
      all_allowed = false
    end
    values[j], expiries[j] = value, expires
    reply[r + 1], reply[r + 2], reply[r + 3], reply[r + 4], reply[r + 5] = allowed, remaining, reset, retry, delay
    r = r + 5
  end
  -- All or none: a denial anywhere, or a peek, leaves Redis unchanged. A check
  -- charged 0 has no value: its state stays as it is.
  if op == 'decide' and decision_cost > 0 and all_allowed then
    for j = 1, m do
      if values[j] then store(KEYS[k0 + j], values[j], expiries[j], now) end
    end
  end
  return nil
end

local op = ARGV[3]
local err
if op == 'batch' then
  local decisions, count = tonumber(ARGV[2]), tonumber(ARGV[4])
  if decisions == nil or count == nil then
    return redis.error_reply('ERR decide.lua: batch needs the number of decisions and of limits')
  end
  local limits = {}
  for i = 1, count do
    local base = 4 + PER_LIMIT * (i - 1)
    limits[i] = { tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3]),
                  tonumber(ARGV[base + 4]), tonumber(ARGV[base + 5]) == 1 }
  end
  local k0, a0 = 0, 4 + PER_LIMIT * count
  for _ = 1, decisions do
    local now, cost, m = ARGV[a0 + 1], tonumber(ARGV[a0 + 2]), tonumber(ARGV[a0 + 3])
    if now == nil or cost == nil or m == nil then return redis.error_reply('ERR decide.lua: truncated batch') end
    now = instant(now)
    if #reply == 0 then reply[1] = now end
    err = run('decide', now, cost, k0, a0 + 3, m, limits)
    if err then return redis.error_reply(err) end
    k0, a0 = k0 + m, a0 + 3 + PER_BATCH_CHECK * m
  end
elseif op == 'decide' or op == 'refund' then
  local now, cost = instant(ARGV[1]), tonumber(ARGV[2])
  if now == nil or cost == nil then return redis.error_reply('ERR decide.lua: now and cost must be numbers') end
  reply[1] = now
  err = run(op, now, cost, 0, 3, #KEYS)
  if err then return redis.error_reply(err) end
else
  return redis.error_reply('ERR decide.lua: op must be decide, refund or batch')
end
return reply
