-- create: stores a new session (one hash, expiring at the session's absolute end) and adds it
-- to its subject's sessions (a sorted set by end, which "log out everywhere" walks), dropping
-- the subject's sessions that have ended.
--
-- KEYS[1] the session, KEYS[2] the subject's sessions.
-- ARGV[1] sub, ARGV[2] claims (JSON), ARGV[3] generation, ARGV[4] rotated_at,
-- ARGV[5] last_used, ARGV[6] expires_at, ARGV[7] expires_at in ms, ARGV[8] sid,
-- ARGV[9] ms left, ARGV[10] revoked ('1' or '0'), ARGV[11] now in ms.
-- Returns 1.
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'claims', ARGV[2], 'generation', ARGV[3],
  'rotated_at', ARGV[4], 'last_used', ARGV[5], 'expires_at', ARGV[6], 'revoked', ARGV[10])
redis.call('PEXPIREAT', KEYS[1], ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[11])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[8])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[9]) then
  redis.call('PEXPIREAT', KEYS[2], ARGV[7])
end
return 1
