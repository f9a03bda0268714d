-- Shared by the wrk scripts of bench/server/load.sh: loads the seeded ids (one per line) from the file named by
-- the first script argument (`wrk ... -s read.lua -- ids.txt`) and requests them round-robin, each wrk thread
-- starting at a different offset so the connections spread over the whole set.
local M = {}

function M.load(path)
  local ids = {}
  local f = assert(io.open(path, "r"), "cannot open id file " .. tostring(path))
  for line in f:lines() do
    if #line > 0 then ids[#ids + 1] = line end
  end
  f:close()
  assert(#ids > 0, "no ids in " .. path)
  return ids
end

-- Defines wrk's setup/init/request so that each request is GET target_of(id) for the next id.
function M.get_each(target_of)
  local ids, next_index
  local threads_started = 0

  -- Runs in the main Lua state once per wrk thread: gives each thread its own starting offset.
  function setup(thread)
    thread:set("thread_number", threads_started)
    threads_started = threads_started + 1
  end

  function init(args)
    ids = M.load(args[1])
    next_index = (thread_number * 7919) % #ids
  end

  function request()
    next_index = next_index % #ids + 1
    return wrk.format("GET", target_of(ids[next_index]), {["Accept"] = "application/fhir+json"})
  end
end

return M
