-- Shared by the wrk scripts of bench/server/load.sh: loads the seeded ids (one per line) from the file named by
-- the first script argument (`wrk ... -s read.lua -- ids.txt`) and hands them out round-robin, each wrk thread
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

return M
