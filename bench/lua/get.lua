-- wrk script: the plain GET wrk would send, with the answers counted by status class and the
-- p95 printed (status.lua's done()), for a scenario that needs no request of its own.
package.path = (debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "") .. "?.lua;" .. package.path
local status = require "status"

setup, response, done = status.setup, status.response, status.done

function init(args)
  status.init(args[1], "-t")
end
