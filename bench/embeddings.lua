-- wrk script for bench/embeddings-batching.sh: POST one sentence, INPUT, to /v1/embeddings.
-- Prints, when done (latencies in microseconds):
--   LAT p50=... p99=... mean=...
--   REQ total=... rps=... non2xx=... errors=...
wrk.method = "POST"
wrk.path = "/v1/embeddings"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("MODELWAY_ADMIN_KEY") or "mw-bench-key")
-- Every request reaches the model: the gateway's exact cache would answer this repeated input.
wrk.headers["Cache-Control"] = "no-cache, no-store"
-- INPUT is the sentence (embeddings-batching.sh sets it, with its default, and checks that it
-- needs no JSON escaping).
local input = os.getenv("INPUT")
if input == nil or input == "" then
  error("INPUT (the sentence to embed) is not set")
end
wrk.body = '{"model":"all-minilm-l6-v2","input":"' .. input .. '"}'

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("LAT p50=%d p99=%d mean=%.0f\n",
    latency:percentile(50), latency:percentile(99), latency.mean))
  io.write(string.format("REQ total=%d rps=%.1f non2xx=%d errors=%d\n",
    summary.requests, summary.requests / seconds, e.status,
    e.connect + e.read + e.write + e.timeout))
end
