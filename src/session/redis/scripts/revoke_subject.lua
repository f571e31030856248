-- revoke_subject (after revoke.lua): "log out everywhere". Marks every live session of the
-- subject revoked and lists it, attributed to the subject (so that a token minted by a refresh
-- that committed just before the cutoff is caught by its `sid`), then writes the cutoff. The
-- walk is bounded: create.lua keeps at most the cap of sessions per subject.
--
-- KEYS[1] the subject's sessions, KEYS[2] rev, KEYS[3] rev:exp, KEYS[4] rev:seq.
-- ARGV[1] cutoff, ARGV[2] until, ARGV[3] the channel, ARGV[4] the cap, ARGV[5] the member
-- ("u:<sub>"), ARGV[6] now, ARGV[7] the session key prefix, ARGV[8] now in ms,
-- ARGV[9] the per-subject bound, ARGV[10] the subject.
-- Returns {'ok', sid...} (the sessions revoked).
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[8])
local revoked = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local k = ARGV[7] .. sid
  if redis.call('HGET', k, 'revoked') == '0' then
    redis.call('HSET', k, 'revoked', '1')
    revoked[#revoked + 1] = sid
  end
end
local c = ctx(KEYS[2], KEYS[3], KEYS[4], ARGV[3], ARGV[4], ARGV[9], ARGV[6])
revoke(c, ARGV[5], ARGV[2], ARGV[1], '')
for _, sid in ipairs(revoked) do
  revoke(c, 's:' .. sid, ARGV[2], '0', ARGV[10])
end
table.insert(revoked, 1, 'ok')
return revoked
