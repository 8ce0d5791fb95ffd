-- wrk script: CDS Hooks patient-view calls, each with a fresh hookInstance, cycling through request bodies.
-- The bodies are JSON files (made by make-requests.py) whose hookInstance is the placeholder HOOK_INSTANCE.
-- Usage: wrk -t2 -c16 -d30s --latency -s cds-patient-view.lua http://127.0.0.1:PORT/cds-services/healthrec-patient-risk
-- with CDS_REQUESTS=folder of the bodies (default tests/load/requests), and CDS_PACE_MS=N to pause N ms between a
-- response and a connection's next call (an offered load of about connections × 1000 / (N + latency) calls/s) instead
-- of calling as fast as the server answers.
local folder = os.getenv("CDS_REQUESTS") or "tests/load/requests"
local bodies = {}
local listing = io.popen('ls "' .. folder .. '"/*.json')
for path in listing:lines() do
  local file = assert(io.open(path, "rb"))
  bodies[#bodies + 1] = file:read("*a")
  file:close()
end
listing:close()
assert(#bodies > 0, "no request bodies in " .. folder)

local pace = tonumber(os.getenv("CDS_PACE_MS") or "0")
local counter = 0
local statuses = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + id * 7919)
  requests = 0
end

local function uuid()
  return string.format("%08x-%04x-4%03x-%04x-%012x", math.random(0, 0xffffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff), math.random(0, 0xffffffffffff))
end

function request()
  requests = requests + 1
  local body = bodies[(requests + id * 7) % #bodies + 1]:gsub("HOOK_INSTANCE", uuid(), 1)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end

function delay()
  return pace
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("HTTP " .. status .. ": " .. body:sub(1, 200) .. "\n")
  end
end
