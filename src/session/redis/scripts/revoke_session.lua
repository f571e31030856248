-- revoke_session (after revoke.lua): logout. Marks the session revoked (when it exists) and
-- lists its revocation, attributed to the session's subject.
--
-- KEYS[1] the session, KEYS[2] rev, KEYS[3] rev:exp, KEYS[4] rev:seq.
-- ARGV[1] until, ARGV[2] the channel, ARGV[3] the cap, ARGV[4] the member ("s:<sid>"),
-- ARGV[5] now, ARGV[6] the per-subject bound.
-- Returns {1 (found) or 0 (no such session), the session's subject ('' when unknown)}.
local found, sub = 0, ''
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  found = 1
  sub = redis.call('HGET', KEYS[1], 'sub') or ''
end
local c = ctx(KEYS[2], KEYS[3], KEYS[4], ARGV[2], ARGV[3], ARGV[6], ARGV[5])
revoke(c, ARGV[4], ARGV[1], '0', sub)
return {found, sub}
