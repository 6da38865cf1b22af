-- wrk script: POST /api/orders, the whole real order, as one of many signed-in customers.
-- Each request: the next customer's bearer token (round robin), one unit of a product picked at
-- random, and a unique Idempotency-Key. Counts answers by status class; done() prints them.
-- Arguments (after `--`): <file with one token per line> <comma-separated product ids> <run tag>
local tokens, products, tag = {}, {}, "run"
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  for id in string.gmatch(args[2], "%d+") do products[#products + 1] = id end
  tag = (args[3] or "run") .. "-t" .. tostring(id or 0)
  math.randomseed(os.time() * 1000 + (id or 0))
  s2xx, s3xx, s4xx, s5xx, sother = 0, 0, 0, 0, 0
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

function response(status, headers, body)
  if status < 300 then s2xx = s2xx + 1
  elseif status < 400 then s3xx = s3xx + 1
  elseif status < 500 then s4xx = s4xx + 1
  elseif status < 600 then s5xx = s5xx + 1
  else sother = sother + 1 end
end

function done(summary, latency, requests)
  local t = {0, 0, 0, 0, 0}
  for _, thread in ipairs(threads) do
    t[1] = t[1] + (thread:get("s2xx") or 0)
    t[2] = t[2] + (thread:get("s3xx") or 0)
    t[3] = t[3] + (thread:get("s4xx") or 0)
    t[4] = t[4] + (thread:get("s5xx") or 0)
    t[5] = t[5] + (thread:get("sother") or 0)
  end
  io.write(string.format("bench-status 2xx=%d 3xx=%d 4xx=%d 5xx=%d other=%d\n",
    t[1], t[2], t[3], t[4], t[5]))
end
