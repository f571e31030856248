-- load (after revoke.lua): the mirror's full load. Purges up to 1000 ended entries (the rest
-- go with later writes and loads; the mirror skips ended entries); returns the sequence number
-- and every entry (bounded by the cap, plus ended ones not purged yet).
--
-- KEYS[1] rev, KEYS[2] rev:exp, KEYS[3] rev:seq.
-- ARGV[1] now.
-- Returns {seq, {member, "seq until cutoff[ owner]", ...}} (seq '0' when nothing was ever
-- revoked).
local c = ctx(KEYS[1], KEYS[2], KEYS[3], '', '0', '0', ARGV[1])
purge(c, 1000)
local seq = redis.call('GET', KEYS[3]) or '0'
return {seq, redis.call('HGETALL', KEYS[1])}
