-- Shared by the wrk scripts (require "status"): each thread's id, the run's tag per thread, and
-- the answers counted by status class, summed over the threads and printed by done().
-- A script finds it with: package.path = <the script's dir> .. "?.lua;" .. package.path
local M = {}
local threads = {}

-- wrk's setup(thread), in the main state: numbers each thread (its global `id`).
function M.setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

-- In a thread's init(args): this thread's tag (the run's tag, `sep`, the thread's id), and its
-- counters reset. Requests of two threads, or two runs, never share a tag.
function M.init(run_tag, sep)
  s2xx, s3xx, s4xx, s5xx, sother = 0, 0, 0, 0, 0
  return (run_tag or "run") .. sep .. tostring(id or 0)
end

-- wrk's response(status, headers, body), in a thread: counts the answer by status class.
function M.response(status)
  if status < 300 then s2xx = s2xx + 1
  elseif status < 400 then s3xx = s3xx + 1
  elseif status < 500 then s4xx = s4xx + 1
  elseif status < 600 then s5xx = s5xx + 1
  else sother = sother + 1 end
end

-- wrk's done(summary, latency), in the main state: the line bench/report.py reads, and the
-- latency percentiles wrk's --latency table leaves out (p95), in microseconds.
function M.done(summary, latency)
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
  if latency then
    io.write(string.format("bench-latency p95=%d\n", latency:percentile(95)))
  end
end

return M
