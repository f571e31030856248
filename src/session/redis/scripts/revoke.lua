-- revoke(rev, exp, seq, channel, cap, now, member, until_, cutoff): the function the rotate,
-- revoke_session, revoke_subject and revoke_token scripts start with (prepended to each; not a
-- script of its own, so it has no KEYS or ARGV).
--
-- Records a revocation: skips one that has already ended, purges a few expired entries,
-- refuses growth past the cap (counting live entries), keeps the latest end and cutoff of an
-- existing entry, bumps the sequence number and publishes.
--
-- rev: the hash member -> "seq until cutoff"; exp: the sorted set member -> until; seq: the
-- sequence number; channel: the pub/sub channel; cap: the most live entries; now: the caller's
-- clock (seconds); member: "t:<jti>", "s:<sid>" or "u:<sub>"; until_: the entry's end;
-- cutoff: for a subject, the tokens issued at or before it are refused ('0' otherwise).
-- Returns false when the list is full, true otherwise.
local function revoke(rev, exp, seq, channel, cap, now, member, until_, cutoff)
  if tonumber(until_) <= tonumber(now) then return true end
  local expired = redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 100)
  for _, m in ipairs(expired) do
    redis.call('HDEL', rev, m)
    redis.call('ZREM', exp, m)
  end
  local old = redis.call('HGET', rev, member)
  if not old then
    local live = redis.call('HLEN', rev) - redis.call('ZCOUNT', exp, '-inf', now)
    if live >= tonumber(cap) then return false end
  end
  if old then
    local _, ountil, ocut = string.match(old, '^(%d+) (%S+) (%S+)$')
    if ountil and tonumber(ountil) > tonumber(until_) then until_ = ountil end
    if ocut and tonumber(ocut) > tonumber(cutoff) then cutoff = ocut end
  end
  local n = redis.call('INCR', seq)
  local value = string.format('%d', n) .. ' ' .. until_ .. ' ' .. cutoff
  redis.call('HSET', rev, member, value)
  redis.call('ZADD', exp, until_, member)
  redis.call('PUBLISH', channel, value .. ' ' .. member)
  return true
end
