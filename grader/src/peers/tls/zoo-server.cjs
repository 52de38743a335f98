'use strict';
// The TLS zoo: good and hostile HTTPS servers for the tls-client exercise, all from one JSON file.
//
//   node zoo-server.cjs /path/config.json
//
// Plain CommonJS without dependencies: it runs as is in the grader's Node image, in a container
// on the run's network, or on the host for the grader's own tests. The config (see
// zoo-config.ts, ZooServerConfig) is { host, controlPort, members: [...] }; each member is
//   { name, port, cert, key, sni?: [{ servername, cert, key }], minVersion, maxVersion,
//     ciphers?, alpn?, tickets, ocspResponse? (base64 DER), status }
// with PEM strings inline, so one file is all a container needs.
//
// Every member answers any HTTP/1.1 request with `status` and a short body naming it, then
// closes. What a test must confirm from the server's side is kept per member and served as JSON
// on the plain-HTTP control port: GET /stats (see zoo-stats.ts, ZooStats), POST /reset, and
// GET /ping, an empty answer the tests time for the round trip of the zoo's link. The
// client under test reaches that port too, so both need the secret the tests gave the zoo in
// NETKATA_CONTROL_SECRET, in an x-netkata-control header (see ../control-secret.ts); any
// other request, and one without the secret, gets the same bare 404. Nothing else is served:
// the members' keys stay in the config file, which no route reads.
// Once everything listens, one JSON line on stdout gives the ports: {"ready":true,...}.

const fs = require('node:fs');
const http = require('node:http');
const tls = require('node:tls');
const { constants, createHash, timingSafeEqual } = require('node:crypto');

/** Connections kept per member for /stats; counters go on counting. */
const KEEP_RECORDS = 200;
const MAX_HEAD_BYTES = 16 * 1024;
const IDLE_TIMEOUT_MS = 15_000;

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: node zoo-server.cjs CONFIG.json\n');
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));

const CONTROL_HEADER = 'x-netkata-control';
const secret = process.env.NETKATA_CONTROL_SECRET || '';
// Counters anyone could reset would prove nothing: no control port without a real secret.
if (secret.length < 32) {
  process.stderr.write("zoo-server: NETKATA_CONTROL_SECRET must hold the tests' secret (32 characters or more)\n");
  process.exit(2);
}
const secretDigest = createHash('sha256').update(secret).digest();

/** Compared as digests: constant time, and the lengths give nothing away either. */
function authorized(request) {
  const given = request.headers[CONTROL_HEADER];
  if (typeof given !== 'string') return false;
  return timingSafeEqual(createHash('sha256').update(given).digest(), secretDigest);
}

function emptyStats(port) {
  return {
    port,
    handshakes: 0,
    resumed: 0,
    requests: 0,
    protocols: {},
    alpn: {},
    connections: [],
    clientErrors: [],
  };
}

function keep(list, item) {
  list.push(item);
  if (list.length > KEEP_RECORDS) list.shift();
}

function count(map, key) {
  map[key] = (map[key] || 0) + 1;
}

const stats = {};

function contextOptions(member, credential) {
  return {
    cert: credential.cert,
    key: credential.key,
    minVersion: member.minVersion,
    maxVersion: member.maxVersion,
    ...(member.ciphers ? { ciphers: member.ciphers } : {}),
    // Without tickets OpenSSL would fall back to its server-side session cache, which Node leaves
    // to 'newSession'/'resumeSession' listeners; there are none, so nothing resumes.
    ...(member.tickets ? {} : { secureOptions: constants.SSL_OP_NO_TICKET }),
  };
}

function reasonPhrase(status) {
  return http.STATUS_CODES[status] || 'Unknown';
}

/** Reads one request head, answers it, closes. Records when the head arrived. */
function serveHttp(member, socket, record, acceptedAt) {
  let head = Buffer.alloc(0);
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEAD_BYTES) answer(431, 'request head too large\n');
      return;
    }
    socket.off('data', onData);
    record.requestMs = Math.round((performance.now() - acceptedAt) * 10) / 10;
    const [requestLine, ...headerLines] = head.subarray(0, end).toString('latin1').split('\r\n');
    const [method, target, version] = requestLine.split(' ');
    const headers = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    record.request = { method, target, version, headers };
    stats[member.name].requests++;
    if (!version || !version.startsWith('HTTP/1.')) {
      answer(400, 'bad request\n');
    } else {
      answer(member.status, member.status === 200 ? `netkata tls zoo: ${member.name}\n` : `netkata tls zoo: ${member.name} answers ${member.status}\n`);
    }
  };
  const answer = (status, body) => {
    const bytes = Buffer.from(body);
    socket.end(
      Buffer.concat([
        Buffer.from(`HTTP/1.1 ${status} ${reasonPhrase(status)}\r\nContent-Type: text/plain\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`),
        bytes,
      ]),
    );
  };
  socket.on('data', onData);
}

function startMember(member) {
  stats[member.name] = emptyStats(member.port);
  const sniContexts = new Map((member.sni || []).map((entry) => [entry.servername.toLowerCase(), tls.createSecureContext(contextOptions(member, entry))]));
  const ocsp = member.ocspResponse ? Buffer.from(member.ocspResponse, 'base64') : undefined;
  // Accept times by peer address: the TLS socket Node hands over later is a new object.
  const acceptedAt = new Map();
  const server = tls.createServer({
    ...contextOptions(member, member),
    ...(member.alpn ? { ALPNProtocols: member.alpn } : {}),
    ...(sniContexts.size > 0 ? { SNICallback: (servername, callback) => callback(null, sniContexts.get(String(servername).toLowerCase())) } : {}),
  });
  server.on('connection', (raw) => {
    const key = `${raw.remoteAddress}|${raw.remotePort}`;
    acceptedAt.set(key, performance.now());
    raw.on('close', () => acceptedAt.delete(key));
  });
  if (ocsp) server.on('OCSPRequest', (_cert, _issuer, callback) => callback(null, ocsp));
  server.on('tlsClientError', (error) => {
    keep(stats[member.name].clientErrors, { at: new Date().toISOString(), code: error.code || 'ERR', message: String(error.message).split('\n')[0] });
  });
  server.on('secureConnection', (socket) => {
    const now = performance.now();
    const started = acceptedAt.get(`${socket.remoteAddress}|${socket.remotePort}`) ?? now;
    const cipher = socket.getCipher();
    const record = {
      at: new Date().toISOString(),
      servername: socket.servername || null,
      protocol: socket.getProtocol(),
      cipher: cipher ? cipher.name : null,
      alpn: socket.alpnProtocol || null,
      resumed: socket.isSessionReused(),
      // TCP accept to handshake done. For a round-trip count use requestMs instead: a full
      // TLS 1.2 handshake completes on the server one round trip after the ClientHello, a
      // resumed one too (the server speaks first and waits for the client's Finished); the
      // client's Finished and request come a round trip sooner only when resumed.
      secureMs: Math.round((now - started) * 10) / 10,
      requestMs: null,
      request: null,
    };
    const memberStats = stats[member.name];
    memberStats.handshakes++;
    if (record.resumed) memberStats.resumed++;
    count(memberStats.protocols, record.protocol);
    count(memberStats.alpn, record.alpn || 'none');
    keep(memberStats.connections, record);
    socket.on('error', () => {});
    serveHttp(member, socket, record, started);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(member.port, config.host, () => {
      stats[member.name].port = server.address().port;
      resolve(server);
    });
  });
}

function startControl() {
  const server = http.createServer((request, response) => {
    request.resume();
    const send = (status, body) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const allowed = authorized(request);
    if (allowed && request.method === 'GET' && request.url === '/stats') {
      send(200, { members: stats });
    } else if (allowed && request.method === 'GET' && request.url === '/ping') {
      // One segment each way and no work: on a kept-alive connection its time is the link's round trip.
      send(200, {});
    } else if (allowed && request.method === 'POST' && request.url === '/reset') {
      for (const name of Object.keys(stats)) stats[name] = emptyStats(stats[name].port);
      send(200, { reset: true });
    } else {
      // The same for a wrong route as for a missing secret: nothing says what would have worked.
      response.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10 });
      response.end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.controlPort, config.host, () => resolve(server));
  });
}

async function main() {
  await Promise.all(config.members.map(startMember));
  const control = await startControl();
  const ports = {};
  for (const [name, memberStats] of Object.entries(stats)) ports[name] = memberStats.port;
  process.stdout.write(`${JSON.stringify({ ready: true, controlPort: control.address().port, ports })}\n`);
}

// Containers stop with SIGTERM; there is nothing to flush.
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

main().catch((error) => {
  process.stderr.write(`zoo-server: ${error.stack || error}\n`);
  process.exit(1);
});
