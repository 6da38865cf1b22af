-- wrk script: GET /api/products?q=<a term no request used before>: every request misses the
-- catalogue cache and reads the database (a search reads the whole catalogue on every backend:
-- LIKE on SQL, the catalogue partition's Query filtered in the process on DynamoDB).
-- Counts answers by status class; done() prints them. Argument (after `--`): <run tag>
local counter = 0
local threads = {}
local tag = "run"

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tag = (args[1] or "run") .. "t" .. tostring(id or 0)
  s2xx, s3xx, s4xx, s5xx, sother = 0, 0, 0, 0, 0
end

function request()
  counter = counter + 1
  return wrk.format("GET", "/api/products?q=zq" .. tag .. "n" .. counter)
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
