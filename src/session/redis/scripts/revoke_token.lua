-- revoke_token (after revoke.lua): refuses one access token until its expiry.
--
-- KEYS[1] rev, KEYS[2] rev:exp, KEYS[3] rev:seq.
-- ARGV[1] until, ARGV[2] the channel, ARGV[3] the cap, ARGV[4] the member ("t:<jti>"),
-- ARGV[5] now.
-- Returns 1, or -1 when the list is full.
if not revoke(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], ARGV[5], ARGV[4], ARGV[1], '0') then
  return -1
end
return 1
