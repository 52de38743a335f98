// The calibration probe: runs in a grader-owned container behind the impaired link, sent as
// `node -e` source (no files mounted, so it works on remote engines too). Plain JavaScript:
// it runs on the bare runtime image.
//   'NKCP' seq:u32 ...       echo probe: answered once per copy received, with the copy's index
//   'NKRT' phase:u32 ...     rate filler: counted per phase (a new phase restarts the count)
//   'NKRB' id:u32 kbit:u32 ms:u32  send rate filler back to the sender at kbit for ms
// Counters go to /tmp/probe-stats.json (tmpfs), read with `docker exec`.
const dgram = require('node:dgram');
const fs = require('node:fs');
const socket = dgram.createSocket('udp4');
const copies = new Map();
const stats = { datagrams: 0, distinct: 0, replies: 0, ratePhase: 0, rateBytes: 0, rateFirstMs: 0, rateLastMs: 0 };
const blasts = new Set();
let dirty = true; // written once at start: the grader reads it to know the probe is up
setInterval(() => {
  if (!dirty) return;
  dirty = false;
  fs.writeFileSync('/tmp/probe-stats.json.tmp', JSON.stringify(stats));
  fs.renameSync('/tmp/probe-stats.json.tmp', '/tmp/probe-stats.json');
}, 20);

function blast(address, port, kbit, durationMs, phase) {
  const filler = Buffer.alloc(1200, 0x5a);
  filler.write('NKRT');
  filler.writeUInt32BE(phase, 4);
  const started = performance.now();
  let sent = 0;
  const tick = setInterval(() => {
    const elapsed = performance.now() - started;
    if (elapsed > durationMs) return clearInterval(tick);
    while ((sent * filler.length * 8) / kbit < elapsed) {
      socket.send(filler, port, address);
      sent++;
    }
  }, 2);
}

socket.on('message', (message, from) => {
  dirty = true;
  const kind = message.subarray(0, 4).toString('latin1');
  if (kind === 'NKCP') {
    stats.datagrams++;
    const seq = message.readUInt32BE(4);
    const copy = (copies.get(seq) ?? 0) + 1;
    copies.set(seq, copy);
    if (copy === 1) stats.distinct++;
    const reply = Buffer.from(message);
    reply.writeUInt16BE(copy, 8);
    stats.replies++;
    socket.send(reply, from.port, from.address);
  } else if (kind === 'NKRT') {
    const now = performance.now();
    const phase = message.readUInt32BE(4);
    if (phase !== stats.ratePhase) Object.assign(stats, { ratePhase: phase, rateBytes: 0 });
    if (stats.rateBytes === 0) stats.rateFirstMs = now;
    stats.rateLastMs = now;
    stats.rateBytes += message.length;
  } else if (kind === 'NKRB') {
    const id = message.readUInt32BE(4);
    if (blasts.has(id)) return;
    blasts.add(id);
    blast(from.address, from.port, message.readUInt32BE(8), message.readUInt32BE(12), id);
  }
});
socket.bind(Number(process.env.PROBE_PORT ?? 7001), '0.0.0.0', () => console.log('probe ready'));
