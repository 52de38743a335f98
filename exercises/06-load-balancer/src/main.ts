// Load balancer: an HTTP/1.1 reverse proxy in front of the backends listed in $BACKENDS.
// Read README.md for the exact contract and the stages the grader checks.
import http from 'node:http';

const port = Number(process.env.PORT ?? 8000);
// TODO(stage 1): read BACKENDS (comma-separated http://host:port) and STRATEGY from process.env.
// TODO(stage 3): and HEALTH_PATH (/healthz), HEALTH_INTERVAL_MS (1000), RESPONSE_TIMEOUT_MS (5000).
// TODO(stage 5): and HASH_HEADER (X-Session-Key).

const server = http.createServer((req, res) => {
  // TODO(stage 1): pick a backend (round-robin) and send it this request with http.request:
  //                method, URL and headers (add X-Forwarded-For), through an http.Agent per
  //                backend with keepAlive, so connections are reused. Copy the status, headers
  //                and body of its response back.
  // TODO(stage 2): stream both bodies with pipe(), never collect them: 100 MiB in 128 MiB (and
  //                keep at most 1 MiB of a body for a retry: a 160 MiB PUT comes too).
  // TODO(stage 3): health checks; retry GET, HEAD, PUT, DELETE, OPTIONS once on another backend
  //                when the first fails before any response byte (never POST: 502); 503 when no
  //                backend is healthy; 504 when no response headers come within the timeout of
  //                the whole request being sent, or when nothing moves for as long before that.
  // TODO(stage 4): least-connections: the healthy backend with the fewest requests in flight.
  // TODO(stage 5): consistent-hash on the HASH_HEADER value, with virtual nodes on a ring.
  // For now every request fails at once.
  req.resume();
  res.writeHead(502, { 'content-type': 'text/plain' });
  res.end('not implemented yet\n');
});

server.listen(port, '0.0.0.0', () => {
  console.log(`load balancer listening on ${port}`);
});

// Docker stops the grader's container with SIGTERM; exit promptly instead of waiting for the kill.
process.on('SIGTERM', () => process.exit(0));
