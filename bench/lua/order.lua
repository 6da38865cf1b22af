-- wrk script: POST /api/orders, the whole real order, as one of many signed-in customers.
-- Each request: the next customer's bearer token (round robin), one unit of a product picked at
-- random, and a unique Idempotency-Key. Counts answers by status class; done() prints them.
-- Arguments (after `--`): <file with one token per line> <comma-separated product ids> <run tag>
package.path = (debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "") .. "?.lua;" .. package.path
local status = require "status"
local tokens, products, tag = {}, {}, "run"
local counter = 0

setup, response, done = status.setup, status.response, status.done

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  for id in string.gmatch(args[2], "%d+") do products[#products + 1] = id end
  tag = status.init(args[3], "-t")
  math.randomseed(os.time() * 1000 + (id or 0))
end

function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local product = products[math.random(#products)]
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = tag .. "-" .. counter,
  }
  return wrk.format("POST", nil, headers, '{"items":[{"productId":' .. product .. ',"quantity":1}]}')
end
