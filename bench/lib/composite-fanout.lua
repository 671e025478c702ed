-- The HAProxy Lua candidate for the composite engine, measured by
-- bench/composite.ts against ipx's aggregator; not used by ipx itself.
-- One task per part fills a shared table; the service polls it every 5 ms
-- until every part is in or the deadline passes (HAProxy 2.6 has no way to
-- wait on several httpclient calls at once). Parts are called back through
-- the gateway's frontend (IPX_BENCH_GATEWAY) with the service's Host.
-- No JSON library: bodies are spliced in as they are (the parts answer JSON).

local gateway = os.getenv("IPX_BENCH_GATEWAY")
local deadline_ms = tonumber(os.getenv("IPX_BENCH_DEADLINE_MS") or "1000")

-- "name=host/path@timeout,..." (path without the route's parameters: the bench uses fixed ones)
local function parse_parts(text)
  local parts = {}
  for spec in string.gmatch(text or "", "[^,]+") do
    local name, host, path, timeout = string.match(spec, "^([%w_]+)=([%w%.%-]+)(/[^@]*)@(%d+)$")
    table.insert(parts, { name = name, host = host, path = path, timeout = tonumber(timeout) })
  end
  return parts
end

local function now_ms()
  local t = core.now()
  return t.sec * 1000 + t.usec / 1000
end

local function composite(parts)
  return function(applet)
  local state = { pending = #parts, results = {} }
  local started = now_ms()
  for _, part in ipairs(parts) do
    core.register_task(function()
      local t0 = now_ms()
      local hc = core.httpclient()
      local res = hc:get({ url = "http://" .. gateway .. part.path, headers = { ["host"] = { part.host } }, timeout = part.timeout })
      state.results[part.name] = { status = res and res.status or 504, body = res and res.body, ms = now_ms() - t0 }
      state.pending = state.pending - 1
    end)
  end
  while state.pending > 0 and now_ms() - started < deadline_ms do
    core.msleep(5)
  end
  local body, report = {}, {}
  for _, part in ipairs(parts) do
    local r = state.results[part.name]
    if r and r.status == 200 and r.body and #r.body > 0 then
      table.insert(body, string.format('"%s":%s', part.name, r.body))
    end
    local status = r and r.status or 504
    table.insert(report, string.format('"%s":{"status":%d,"durationMs":%d,"stale":false}', part.name, status, math.floor(r and r.ms or deadline_ms)))
  end
  table.insert(body, '"parts":{' .. table.concat(report, ",") .. '}')
  local text = "{" .. table.concat(body, ",") .. "}"
  applet:set_status(200)
  applet:add_header("content-type", "application/json")
  applet:add_header("content-length", tostring(#text))
  applet:start_response()
  applet:send(text)
  end
end

core.register_service("composite", "http", composite(parse_parts(os.getenv("IPX_BENCH_PARTS"))))
core.register_service("composite_hang", "http", composite(parse_parts(os.getenv("IPX_BENCH_HANG_PARTS"))))
