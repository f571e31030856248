-- rotate (after revoke.lua): the atomic rotation of one session. Checks the session, compares
-- the presented generation with the current one, and either moves to the next generation,
-- answers the current record to the immediate predecessor within the grace window, or on
-- reuse marks the session revoked and lists its revocation, attributed to the session's
-- subject (then publishes it).
--
-- KEYS[1] the session, KEYS[2] rev, KEYS[3] rev:exp, KEYS[4] rev:seq.
-- ARGV[1] the presented generation, ARGV[2] now, ARGV[3] grace (s), ARGV[4] idle (s),
-- ARGV[5] revoke_until, ARGV[6] the channel, ARGV[7] the cap, ARGV[8] the member ("s:<sid>"),
-- ARGV[9] the presented generation + 1 ('' when it has none), ARGV[10] the per-subject bound.
-- Returns {'unknown'}, {'revoked'}, {'expired'}, {'reused', sub}, or
-- {'rotated' | 'converged', generation, rotated_at, last_used, expires_at, sub, claims}.
local f = redis.call('HMGET', KEYS[1], 'generation', 'rotated_at', 'last_used', 'expires_at',
  'revoked', 'sub', 'claims')
if not f[1] then return {'unknown'} end
if f[5] == '1' then return {'revoked'} end
local now = tonumber(ARGV[2])
if now >= tonumber(f[4]) or now - tonumber(f[3]) > tonumber(ARGV[4]) then
  return {'expired'}
end
if ARGV[1] == f[1] then
  local g = redis.call('HINCRBY', KEYS[1], 'generation', 1)
  redis.call('HSET', KEYS[1], 'rotated_at', ARGV[2], 'last_used', ARGV[2])
  return {'rotated', string.format('%d', g), ARGV[2], ARGV[2], f[4], f[6], f[7]}
end
if ARGV[9] == f[1] and now - tonumber(f[2]) <= tonumber(ARGV[3]) then
  return {'converged', f[1], f[2], f[3], f[4], f[6], f[7]}
end
redis.call('HSET', KEYS[1], 'revoked', '1')
local c = ctx(KEYS[2], KEYS[3], KEYS[4], ARGV[6], ARGV[7], ARGV[10], ARGV[2])
revoke(c, ARGV[8], ARGV[5], '0', f[6] or '')
return {'reused', f[6] or ''}
