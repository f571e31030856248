-- revoke_token (after revoke.lua): refuses one access token until its expiry.
--
-- KEYS[1] rev, KEYS[2] rev:exp, KEYS[3] rev:seq.
-- ARGV[1] until, ARGV[2] the channel, ARGV[3] the cap, ARGV[4] the member ("t:<jti>"),
-- ARGV[5] now, ARGV[6] the per-subject bound, ARGV[7] the token's subject ('' for none).
-- Returns 1.
local c = ctx(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[6], ARGV[5])
revoke(c, ARGV[4], ARGV[1], '0', ARGV[7])
return 1
