-- wrk script of the balancing-policy workload: every request carries an X-User header,
-- cycling over 1000 users (u1..u1000), so a hash policy keyed on it (maglev with
-- hashKey: header:X-User) spreads the load the way many users would. The 1000 requests
-- are formatted once in init(); request() only picks the next one.
local reqs = {}
local n = 0

init = function(args)
  for i = 1, 1000 do
    reqs[i] = wrk.format(nil, nil, { ["X-User"] = "u" .. i })
  end
end

request = function()
  n = n % 1000 + 1
  return reqs[n]
end
