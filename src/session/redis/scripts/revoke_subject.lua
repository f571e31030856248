-- revoke_subject (after revoke.lua): "log out everywhere". Marks every live session of the
-- subject revoked and lists it (so that a token minted by a refresh that committed just before
-- the cutoff is caught by its `sid`), then writes the cutoff.
--
-- KEYS[1] the subject's sessions, KEYS[2] rev, KEYS[3] rev:exp, KEYS[4] rev:seq.
-- ARGV[1] cutoff, ARGV[2] until, ARGV[3] the channel, ARGV[4] the cap, ARGV[5] the member
-- ("u:<sub>"), ARGV[6] now, ARGV[7] the session key prefix, ARGV[8] now in ms.
-- Returns {'ok', sid...} (the sessions revoked) or {'full'}.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[8])
local revoked = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local k = ARGV[7] .. sid
  if redis.call('HGET', k, 'revoked') == '0' then
    redis.call('HSET', k, 'revoked', '1')
    revoked[#revoked + 1] = sid
  end
end
local full = not revoke(KEYS[2], KEYS[3], KEYS[4], ARGV[3], ARGV[4], ARGV[6], ARGV[5], ARGV[2], ARGV[1])
for _, sid in ipairs(revoked) do
  if not revoke(KEYS[2], KEYS[3], KEYS[4], ARGV[3], ARGV[4], ARGV[6], 's:' .. sid, ARGV[2], '0') then
    full = true
  end
end
if full then return {'full'} end
table.insert(revoked, 1, 'ok')
return revoked
