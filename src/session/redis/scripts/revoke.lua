-- The functions the create, rotate, revoke_session, revoke_subject, revoke_token and load
-- scripts start with (prepended to each; not a script of its own, so it has no KEYS or ARGV).
--
-- The list: rev, a hash member -> "seq until cutoff[ owner]"; exp, a sorted set member ->
-- until (the entries' ends); seq, the sequence number. Members are "t:<jti>", "s:<sid>",
-- "u:<sub>" (a subject cutoff) and "g:" (the cutoff for everyone). A token or session entry
-- attributed to a subject (its owner) is also in the subject's sorted set
-- `<rev>:owned:<epoch>:<sub>` (member -> until), and the subject in `<rev>:owners` (sub -> how
-- many entries it holds). Every write bumps the sequence number and publishes
-- "seq until cutoff <length of owner>:<owner><member>".
--
-- The list never refuses a write, and every call does bounded work: it purges at most 100
-- ended entries; a subject past `bound` entries is compacted (its entries, at most bound + 1,
-- are replaced by one cutoff at now, kept until the latest of their ends); at the cap (live
-- entries), the subject with the most entries is compacted, or when that frees nothing the
-- list is replaced by one cutoff for everyone at now (UNLINK, and a new epoch for the
-- subjects' sets, which expire by themselves).

-- The context of one call. now: the caller's clock (seconds, a string kept as given).
local function ctx(rev, exp, seq, channel, cap, bound, now)
  local epoch = redis.call('GET', rev .. ':epoch') or '0'
  return {rev = rev, exp = exp, seq = seq, channel = channel, cap = tonumber(cap),
    bound = tonumber(bound), now = tonumber(now), nows = now, owners = rev .. ':owners',
    owned = rev .. ':owned:' .. epoch .. ':'}
end

-- The owner in a listed value, or nil.
local function owner_of(value)
  if not value then return nil end
  return string.match(value, '^%d+ %S+ %S+ (.+)$')
end

-- Writes an entry (the later end and cutoff, and the first owner, of an existing one win),
-- bumps the sequence number and publishes it. Returns whether it is new, its end and its owner
-- ('' for none).
local function put(c, member, until_, cutoff, owner)
  local old = redis.call('HGET', c.rev, member)
  if old then
    local _, ountil, ocut = string.match(old, '^(%d+) (%S+) (%S+)')
    if ountil and tonumber(ountil) > tonumber(until_) then until_ = ountil end
    if ocut and tonumber(ocut) > tonumber(cutoff) then cutoff = ocut end
    owner = owner_of(old) or owner
  end
  local n = string.format('%d', redis.call('INCR', c.seq))
  local value = n .. ' ' .. until_ .. ' ' .. cutoff
  if owner ~= '' then value = value .. ' ' .. owner end
  redis.call('HSET', c.rev, member, value)
  redis.call('ZADD', c.exp, until_, member)
  redis.call('PUBLISH', c.channel,
    n .. ' ' .. until_ .. ' ' .. cutoff .. ' ' .. string.len(owner) .. ':' .. owner .. member)
  return not old, until_, owner
end

-- Drops a subject's ended entries from its set and stores its count; returns the count.
local function recount(c, sub)
  local key = c.owned .. sub
  redis.call('ZREMRANGEBYSCORE', key, '-inf', c.nows)
  local n = redis.call('ZCARD', key)
  if n > 0 then redis.call('ZADD', c.owners, n, sub) else redis.call('ZREM', c.owners, sub) end
  return n
end

-- Drops up to `limit` entries that have ended.
local function purge(c, limit)
  local ended = redis.call('ZRANGEBYSCORE', c.exp, '-inf', c.nows, 'LIMIT', 0, limit)
  for _, m in ipairs(ended) do
    local owner = owner_of(redis.call('HGET', c.rev, m))
    redis.call('HDEL', c.rev, m)
    redis.call('ZREM', c.exp, m)
    if owner then
      redis.call('ZREM', c.owned .. owner, m)
      recount(c, owner)
    end
  end
end

-- Replaces the entries attributed to `sub` (at most bound + 1) by one cutoff at now, kept
-- until the latest of their ends.
local function compact(c, sub)
  local key = c.owned .. sub
  local members = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local until_ = c.nows
  for i = 1, #members, 2 do
    redis.call('HDEL', c.rev, members[i])
    redis.call('ZREM', c.exp, members[i])
    if tonumber(members[i + 1]) > tonumber(until_) then until_ = members[i + 1] end
  end
  redis.call('DEL', key)
  redis.call('ZREM', c.owners, sub)
  put(c, 'u:' .. sub, until_, c.nows, '')
end

-- Replaces the whole list by one cutoff for everyone at now, kept until the latest end.
local function everyone(c)
  local until_, cutoff = c.nows, c.nows
  local last = redis.call('ZRANGE', c.exp, -1, -1, 'WITHSCORES')
  if last[2] and tonumber(last[2]) > tonumber(until_) then until_ = last[2] end
  local old = redis.call('HGET', c.rev, 'g:')
  if old then
    local _, ountil, ocut = string.match(old, '^(%d+) (%S+) (%S+)')
    if ountil and tonumber(ountil) > tonumber(until_) then until_ = ountil end
    if ocut and tonumber(ocut) > tonumber(cutoff) then cutoff = ocut end
  end
  -- A subject cutoff later than now (an issuer's clock ahead of ours) must not be lost with the
  -- list: the cutoff for everyone covers it (refusing more, never less). One walk, at the cap
  -- only.
  local all = redis.call('HGETALL', c.rev)
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'u:' then
      local _, _, ucut = string.match(all[i + 1], '^(%d+) (%S+) (%S+)')
      if ucut and tonumber(ucut) and tonumber(ucut) > tonumber(cutoff) then cutoff = ucut end
    end
  end
  redis.call('UNLINK', c.rev, c.exp, c.owners)
  local epoch = redis.call('INCR', c.rev .. ':epoch')
  c.owned = c.rev .. ':owned:' .. string.format('%d', epoch) .. ':'
  put(c, 'g:', until_, cutoff, '')
end

-- At the cap: compacts the subject with the most entries, or when that frees nothing (one
-- entry per subject, or none attributed) replaces everything by a cutoff for everyone.
local function make_room(c)
  -- The counts may be stale-high (ended entries not purged yet): a recount can sink the top, so
  -- a few are tried before everyone is logged out.
  for _ = 1, 4 do
    local top = redis.call('ZREVRANGE', c.owners, 0, 0)
    if not top[1] then break end
    local frees = recount(c, top[1])
    if redis.call('HEXISTS', c.rev, 'u:' .. top[1]) == 0 then frees = frees - 1 end
    if frees > 0 then
      compact(c, top[1])
      return
    end
  end
  everyone(c)
end

-- Records a revocation: skips one that has already ended, purges a few ended entries, writes
-- it (attributed to `owner` unless ''), compacts the owner past the bound, and makes room at
-- the cap. member: "t:<jti>", "s:<sid>" or "u:<sub>"; until_: the entry's end; cutoff: for a
-- subject, the tokens issued at or before it are refused ('0' otherwise).
local function revoke(c, member, until_, cutoff, owner)
  if tonumber(until_) <= c.now then return end
  purge(c, 100)
  local kind = string.sub(member, 1, 2)
  if kind ~= 't:' and kind ~= 's:' then owner = '' end
  local new, ends, owned_by = put(c, member, until_, cutoff, owner)
  if owned_by ~= '' and (kind == 't:' or kind == 's:') then
    local key = c.owned .. owned_by
    redis.call('ZADD', key, ends, member)
    local left = math.ceil((tonumber(ends) - c.now) * 1000)
    if redis.call('PTTL', key) < left then redis.call('PEXPIRE', key, left) end
    if recount(c, owned_by) > c.bound then compact(c, owned_by) end
  end
  if new then
    local live = redis.call('HLEN', c.rev) - redis.call('ZCOUNT', c.exp, '-inf', c.nows)
    if live > c.cap then make_room(c) end
  end
end
