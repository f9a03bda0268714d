-- wrk script for bench/server/load.sh: POST /Patient with a small valid Patient (a different name on each
-- request, no identifier, so no business-key conflicts). No Prefer header: the answer is 201 with the stored
-- resource, as a client gets by default.
-- usage: wrk ... -s create.lua URL
local counter = 0
local threads_started = 0

function setup(thread)
  thread:set("thread_tag", tostring(threads_started))
  threads_started = threads_started + 1
end

function request()
  counter = counter + 1
  local body = '{"resourceType":"Patient","active":true,"name":[{"use":"official","family":"Lastbenk' ..
      thread_tag .. '","given":["Kari","N' .. counter .. '"]}],"gender":"female","birthDate":"1980-04-12",' ..
      '"telecom":[{"system":"phone","value":"+47 22 00 00 00","use":"home"}]}'
  return wrk.format("POST", "/Patient", {
    ["Content-Type"] = "application/fhir+json",
    ["Accept"] = "application/fhir+json",
  }, body)
end
