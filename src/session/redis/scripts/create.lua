-- create (after revoke.lua): stores a new session (one hash, expiring at the session's
-- absolute end) and adds it to its subject's sessions (a sorted set by end, which "log out
-- everywhere" walks), dropping the subject's sessions that have ended. Past the cap of
-- sessions per subject, the oldest (earliest end) are removed, and those not revoked already
-- are listed (their access tokens refused), attributed to the subject.
--
-- KEYS[1] the session, KEYS[2] the subject's sessions, KEYS[3] rev, KEYS[4] rev:exp,
-- KEYS[5] rev:seq.
-- ARGV[1] sub, ARGV[2] claims (JSON), ARGV[3] generation, ARGV[4] rotated_at,
-- ARGV[5] last_used, ARGV[6] expires_at, ARGV[7] expires_at in ms, ARGV[8] sid,
-- ARGV[9] ms left, ARGV[10] revoked ('1' or '0'), ARGV[11] now in ms, ARGV[12] until when the
-- access tokens of a removed session are refused, ARGV[13] the channel, ARGV[14] the cap,
-- ARGV[15] the per-subject bound, ARGV[16] now, ARGV[17] the sessions per subject,
-- ARGV[18] the session key prefix.
-- Returns the sessions removed and listed.
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'claims', ARGV[2], 'generation', ARGV[3],
  'rotated_at', ARGV[4], 'last_used', ARGV[5], 'expires_at', ARGV[6], 'revoked', ARGV[10])
redis.call('PEXPIREAT', KEYS[1], ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[11])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[8])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[9]) then
  redis.call('PEXPIREAT', KEYS[2], ARGV[7])
end
local listed = {}
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[17])
if over > 0 then
  local c = ctx(KEYS[3], KEYS[4], KEYS[5], ARGV[13], ARGV[14], ARGV[15], ARGV[16])
  -- One more than needed, in case the new session is among the earliest ends.
  for _, sid in ipairs(redis.call('ZRANGE', KEYS[2], 0, over)) do
    if over > 0 and sid ~= ARGV[8] then
      over = over - 1
      local k = ARGV[18] .. sid
      local revoked = redis.call('HGET', k, 'revoked')
      redis.call('DEL', k)
      redis.call('ZREM', KEYS[2], sid)
      if revoked == '0' then
        revoke(c, 's:' .. sid, ARGV[12], '0', ARGV[1])
        listed[#listed + 1] = sid
      end
    end
  end
end
return listed
