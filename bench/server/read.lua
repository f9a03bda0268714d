-- wrk script for bench/server/load.sh: GET /Patient/{id} over the seeded Patient ids.
-- usage: wrk ... -s read.lua URL -- IDS_FILE
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
require("ids").get_each(function(id) return "/Patient/" .. id end)
