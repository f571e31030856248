-- revoke_session (after revoke.lua): logout. Marks the session revoked (when it exists) and
-- lists its revocation; the session is marked revoked even when the list is full.
--
-- KEYS[1] the session, KEYS[2] rev, KEYS[3] rev:exp, KEYS[4] rev:seq.
-- ARGV[1] until, ARGV[2] the channel, ARGV[3] the cap, ARGV[4] the member ("s:<sid>"),
-- ARGV[5] now.
-- Returns 1 (found), 0 (no such session) or -1 (the list is full).
local found = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  found = 1
end
if not revoke(KEYS[2], KEYS[3], KEYS[4], ARGV[2], ARGV[3], ARGV[5], ARGV[4], ARGV[1], '0') then
  return -1
end
return found
