// The edge: a grader-owned container on the run's internal network and on a normal bridge with
// published ports, for engines whose container addresses the tests cannot reach (a remote
// DOCKER_HOST, Docker Desktop). Slot N listens on TCP and UDP port BASE+N and forwards to the
// target written in /tmp/slots/N ("ip:port", set with docker exec, read per connection).
// Plain JavaScript, sent as `node -e` source: it runs on the bare runtime image.
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');
const BASE = Number(process.env.EDGE_BASE_PORT);
const SLOTS = Number(process.env.EDGE_SLOTS);
fs.mkdirSync('/tmp/slots', { recursive: true });

function target(slot) {
  try {
    const [host, port] = fs.readFileSync(`/tmp/slots/${slot}`, 'utf8').trim().split(':');
    return { host, port: Number(port) };
  } catch {
    return undefined;
  }
}

for (let slot = 0; slot < SLOTS; slot++) {
  net
    .createServer({ allowHalfOpen: true }, (client) => {
      const to = target(slot);
      if (!to) return client.destroy();
      client.setNoDelay(true);
      const upstream = net.connect({ ...to, allowHalfOpen: true });
      upstream.setNoDelay(true);
      // Both ways with flow control and half-close; a reset on one side resets the other.
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => upstream.resetAndDestroy());
      upstream.on('error', () => client.resetAndDestroy());
    })
    .listen(BASE + slot, '0.0.0.0');

  const front = dgram.createSocket('udp4');
  const peers = new Map();
  front.on('message', (message, from) => {
    const to = target(slot);
    if (!to) return;
    const key = `${from.address}:${from.port}`;
    let upstream = peers.get(key);
    if (!upstream) {
      upstream = dgram.createSocket('udp4');
      upstream.on('message', (reply) => front.send(reply, from.port, from.address));
      peers.set(key, upstream);
    }
    upstream.send(message, to.port, to.host);
  });
  front.bind(BASE + slot, '0.0.0.0');
}
fs.writeFileSync('/tmp/edge-ready', 'ready');
console.log(`edge: ${SLOTS} slots from port ${BASE}`);
