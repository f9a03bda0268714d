-- wrk script for bench/server/load.sh: GET /CarePlan?subject=Patient/{id} over the seeded Patient ids.
-- usage: wrk ... -s search.lua URL -- IDS_FILE
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
local ids_lib = require("ids")
local ids, next_index
local threads_started = 0

-- Runs in the main Lua state once per wrk thread: gives each thread its own starting offset.
function setup(thread)
  thread:set("thread_number", threads_started)
  threads_started = threads_started + 1
end

function init(args)
  ids = ids_lib.load(args[1])
  next_index = (thread_number * 7919) % #ids
end

function request()
  next_index = next_index % #ids + 1
  return wrk.format("GET", "/CarePlan?subject=Patient/" .. ids[next_index], {["Accept"] = "application/fhir+json"})
end
