// The grader's backend for the load-balancer suite: one per peer container (backend-1..3),
// Node built-ins only. Every path answers with JSON naming this backend and echoing what it
// received (method, URL, headers, body size and SHA-256, hashed while it streams in, so a
// 100 MiB upload costs no memory). GET /bytes/<n> streams n bytes of a fixed pattern (add
// ?chunked to leave out Content-Length). Every request is logged, and every TCP connection
// counted. The tests steer it on the same port, never through the proxy, with the secret they
// gave it in NETKATA_CONTROL_SECRET in the x-netkata-control header (see
// grader/src/peers/control-secret.ts); without it, /_control/... is a path like any other, so
// a proxy can neither read a backend's mode nor change it, nor tell that it could:
//   POST /_control/mode?set=ok|fail|hang|slow|reset[&delayMs=N]
//     fail: 500 to everything, health included; hang: read the request, never answer;
//     slow: answer after delayMs; reset: destroy the connection once a request (other than
//     the health check, which still passes) has arrived, before any response byte.
//   GET  /_control/log     { name, mode, connections, proxiedConnections, requests }
//   POST /_control/clear   forget the log and counts, back to mode ok
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');

const NAME = process.env.BACKEND_NAME || 'backend';
const PORT = Number(process.env.PORT || 8080);
const HEALTH_PATH = process.env.HEALTH_PATH || '/healthz';
const CONTROL_HEADER = 'x-netkata-control';
const SECRET = process.env.NETKATA_CONTROL_SECRET || '';
// A backend that anyone could steer is worse than none: refuse to start without a real secret.
if (SECRET.length < 32) {
  console.error("backend.cjs: NETKATA_CONTROL_SECRET must hold the tests' secret (32 characters or more)");
  process.exit(2);
}
const SECRET_DIGEST = crypto.createHash('sha256').update(SECRET).digest();
const started = Date.now();

let mode = 'ok';
let delayMs = 0;
let connections = 0;
let proxiedConnections = 0;
let requests = [];
const sockets = new Set();

/** 64 KiB of the pattern GET /bytes/<n> repeats: byte i is (i * 7 + 3) mod 256. */
const PATTERN = Buffer.alloc(65536, 0).map((_, i) => (i * 7 + 3) & 0xff);

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-served-by': NAME });
  res.end(text);
}

/** Compared as digests: constant time, and the lengths give nothing away either. */
function isControl(req) {
  const given = req.headers[CONTROL_HEADER];
  if (typeof given !== 'string') return false;
  return crypto.timingSafeEqual(crypto.createHash('sha256').update(given).digest(), SECRET_DIGEST);
}

function control(req, res, url) {
  if (url.pathname === '/_control/mode') {
    mode = url.searchParams.get('set') || 'ok';
    delayMs = Number(url.searchParams.get('delayMs') || 0);
    return json(res, 200, { name: NAME, mode, delayMs });
  }
  if (url.pathname === '/_control/log') {
    return json(res, 200, { name: NAME, mode, uptimeMs: Date.now() - started, connections, proxiedConnections, requests });
  }
  if (url.pathname === '/_control/clear') {
    mode = 'ok';
    delayMs = 0;
    connections = 0;
    proxiedConnections = 0;
    requests = [];
    // Connections opened before the clear no longer count as proxied ones.
    for (const socket of sockets) socket.proxied = true;
    return json(res, 200, { name: NAME, cleared: true });
  }
  return json(res, 404, { error: 'no such control path' });
}

function streamBytes(res, total, chunked) {
  const headers = { 'content-type': 'application/octet-stream', 'x-served-by': NAME };
  if (!chunked) headers['content-length'] = String(total);
  res.writeHead(200, headers);
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(PATTERN.length, total - sent);
      sent += n;
      if (!res.write(n === PATTERN.length ? PATTERN : PATTERN.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function answer(req, res, url, entry) {
  const bytes = /^\/bytes\/(\d+)$/.exec(url.pathname);
  if (bytes && req.method === 'GET') {
    req.resume();
    return streamBytes(res, Number(bytes[1]), url.searchParams.has('chunked'));
  }
  const hash = crypto.createHash('sha256');
  let bodyBytes = 0;
  req.on('data', (chunk) => {
    bodyBytes += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    entry.bodyBytes = bodyBytes;
    // Never the control header, whoever sent it: nothing served through a proxy may carry a secret.
    const { [CONTROL_HEADER]: _, ...headers } = req.headers;
    const body = { server: NAME, method: req.method, url: req.url, headers, bodyBytes, bodySha256: hash.digest('hex') };
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': NAME });
      return res.end();
    }
    json(res, 200, body);
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://backend');
  if (url.pathname.startsWith('/_control/') && isControl(req)) return control(req, res, url);
  const health = url.pathname === HEALTH_PATH;
  const id = req.headers['x-request-id'];
  const entry = { id: typeof id === 'string' ? id : null, method: req.method, url: req.url, atMs: Date.now() - started, health };
  requests.push(entry);
  if (!health && !req.socket.proxied) {
    req.socket.proxied = true;
    proxiedConnections++;
  }
  if (mode === 'fail') {
    req.resume();
    return json(res, 500, { server: NAME, error: 'told to fail' });
  }
  if (mode === 'hang') return; // the request is read; no response byte, ever
  if (mode === 'reset' && !health) return void req.socket.destroy();
  if (mode === 'slow') return void setTimeout(() => answer(req, res, url, entry), delayMs);
  answer(req, res, url, entry);
});

server.on('connection', (socket) => {
  connections++;
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
// Keep idle keep-alive connections far longer than a proxy's pool does, so the proxy never
// reuses a connection this side is closing at that moment (a race no proxy can win).
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.requestTimeout = 0;
// The port it got, for PORT=0 (the grader's own tests run it on this machine).
server.listen(PORT, '0.0.0.0', () => console.log(`${NAME} listening on ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
