-- Prints one machine-readable line: requests, seconds, p50/p99/p999 latency (µs), non-2xx, socket errors.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("GROUPD_STATS %d %.3f %d %d %d %d %d\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), e.status,
    e.connect + e.read + e.write + e.timeout))
end
