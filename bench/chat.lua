-- wrk script for bench/gateway-hop.sh: POST a small, non-streaming chat completion.
--
-- Prints two machine-readable lines when the run is done (all latencies in microseconds):
--   LAT p50=... p90=... p99=... p999=... mean=... max=...
--   REQ total=... duration_us=... rps=... non2xx=... connect_err=... read_err=... write_err=... timeout=...
--
-- non2xx: by default wrk's own status error counter, which counts responses with status >= 400
-- (wrk's "Non-2xx or 3xx responses" line). With STRICT_STATUS=1 in the environment, a
-- response() hook counts every status outside 200-299 exactly; it makes wrk parse each
-- response into Lua, which costs client CPU, so it is off by default.

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("MODELWAY_ADMIN_KEY") or "mw-bench-key")
-- MODEL names the model (default canned/gpt-4o-mini); CACHE_CONTROL, when set, is sent as the
-- request's Cache-Control header (bench/cache-hit.sh: "no-cache, no-store" makes every call a miss).
if os.getenv("CACHE_CONTROL") and os.getenv("CACHE_CONTROL") ~= "" then
  wrk.headers["Cache-Control"] = os.getenv("CACHE_CONTROL")
end
wrk.body = '{"model":"' .. (os.getenv("MODEL") or "canned/gpt-4o-mini") .. '",'
  .. '"messages":['
  .. '{"role":"system","content":"You are a concise assistant. Answer in one sentence."},'
  .. '{"role":"user","content":"What does an LLM gateway add between a client and a model server?"}'
  .. '],"max_tokens":64,"temperature":0}'

local strict = os.getenv("STRICT_STATUS") == "1"
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

if strict then
  bad = 0  -- per thread (each wrk thread has its own Lua state); summed in done()

  function response(status, headers, body)
    if status < 200 or status > 299 then
      bad = bad + 1
    end
  end
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  if strict then
    non2xx = 0
    for _, t in ipairs(threads) do
      non2xx = non2xx + (t:get("bad") or 0)
    end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format("LAT p50=%d p90=%d p99=%d p999=%d mean=%.0f max=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.mean, latency.max))
  io.write(string.format(
    "REQ total=%d duration_us=%d rps=%.1f non2xx=%d connect_err=%d read_err=%d write_err=%d timeout=%d strict=%s\n",
    summary.requests, summary.duration, summary.requests / seconds, non2xx,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    strict and "1" or "0"))
end
