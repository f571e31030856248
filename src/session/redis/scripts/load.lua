-- load: the mirror's full load. Purges expired entries; returns the sequence number and every
-- live entry.
--
-- KEYS[1] rev, KEYS[2] rev:exp, KEYS[3] rev:seq.
-- ARGV[1] now.
-- Returns {seq, {member, "seq until cutoff", ...}} (seq '0' when nothing was ever revoked).
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, m in ipairs(expired) do redis.call('HDEL', KEYS[1], m) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
local seq = redis.call('GET', KEYS[3]) or '0'
return {seq, redis.call('HGETALL', KEYS[1])}
