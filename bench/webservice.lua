-- wrk load for the envelope endpoint: SetNewModeNumber or GetContactModes,
-- spread at random over the calls (and so accounts and agents) of a data
-- file written by bench/fill.py ("callid,AccountNumber,AgentID,token").
--
--   wrk -t2 -c8 -d20s -s bench/webservice.lua http://127.0.0.1:8001 -- \
--       calls.csv SetNewModeNumber 0.25 agent 0
--
-- Arguments after "--": data file; subtopic; share of SetNewModeNumber
-- requests sent with DeleteOtherModes=true (0..1); "agent" (each request
-- with the token of the call's own agent) or "dialer:<token>" (every request
-- with the integration token, acting for the call's agent); the most
-- requests each thread sends (0: no limit, wrk's -d bounds the run); the
-- path (default /api/lcm/webservice/; bench/layers.py's views have their own).
--
-- Every response's status is checked: done() prints one line
-- "BENCH_JSON {...}" with the counts (non200 must be 0) and the latency
-- percentiles in microseconds.

local calls = {}
local subtopic, delete_ratio, dialer_token, max_requests
local threads = {}

-- Globals read back from each thread by done().
non200 = 0
responses = 0
first_error = ""

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  subtopic = args[2] or "SetNewModeNumber"
  delete_ratio = tonumber(args[3] or "0.25")
  local auth = args[4] or "agent"
  if auth:sub(1, 7) == "dialer:" then
    dialer_token = auth:sub(8)
  end
  max_requests = tonumber(args[5] or "0")
  for line in io.lines(args[1]) do
    local callid, account, agent, token = line:match("^([^,]*),([^,]*),([^,]*),([^,]*)$")
    if callid then
      calls[#calls + 1] = { callid, account, agent, token }
    end
  end
  assert(#calls > 0, "no calls in " .. args[1])
  math.randomseed(os.time() + 7919 * (thread_number or 1))
  wrk.method = "POST"
  wrk.path = args[6] or "/api/lcm/webservice/"
end

function request()
  local call = calls[math.random(#calls)]
  local body
  if subtopic == "GetContactModes" then
    body = string.format(
      '{"channel":"LCM","topic":"WebService","subtopic":"GetContactModes",'
        .. '"data":{"callid":"%s","AccountNumber":"%s"}}',
      call[1], call[2])
  else
    body = string.format(
      '{"channel":"LCM","topic":"WebService","subtopic":"SetNewModeNumber","source":"wrk",'
        .. '"data":{"callid":"%s","AccountNumber":"%s","ModeID":%d,"ContactNumber":"3%09d",'
        .. '"DeleteOtherModes":%s,"AgentID":"%s"}}',
      call[1], call[2], math.random(4), math.random(0, 999999999),
      math.random() < delete_ratio and "true" or "false", call[3])
  end
  -- wrk.format takes these headers instead of wrk.headers, not on top of them.
  return wrk.format(nil, nil, {
    ["Host"] = wrk.headers["Host"],
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Token " .. (dialer_token or call[4]),
  }, body)
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
    if first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
  if max_requests > 0 and responses >= max_requests then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local bad, seen = 0, 0
  local sample = ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non200") or 0)
    seen = seen + (thread:get("responses") or 0)
    local err = thread:get("first_error") or ""
    if sample == "" then sample = err end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"responses":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,'
      .. '"max_us":%d,"mean_us":%.1f,"non200":%d,"connect":%d,"read":%d,"write":%d,'
      .. '"timeout":%d,"first_error":%q}\n',
    summary.requests, seen, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, latency.mean, bad, e.connect, e.read, e.write, e.timeout,
    string.gsub(sample, '[%c"\\]', " ")))
end
