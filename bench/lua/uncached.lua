-- wrk script: GET /api/products?q=<a term no request used before>: every request misses the
-- catalogue cache and reads the database (a search reads the whole catalogue on every backend:
-- LIKE on SQL, the catalogue partition's Query filtered in the process on DynamoDB).
-- Counts answers by status class; done() prints them. Argument (after `--`): <run tag>
package.path = (debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "") .. "?.lua;" .. package.path
local status = require "status"
local counter = 0
local tag = "run"

setup, response, done = status.setup, status.response, status.done

function init(args)
  tag = status.init(args[1], "t")
end

function request()
  counter = counter + 1
  return wrk.format("GET", "/api/products?q=zq" .. tag .. "n" .. counter)
end
