// Conformance of the local runtime's relays: what a stream can show of each impairment, and
// per-datagram impairments for UDP.
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { loadProfile, parseProfile, type LinkSpec } from '../src/impairment/profile.ts';
import { TcpRelay } from '../src/impairment/relay/tcp-relay.ts';
import { RATE_QUEUE_MS, UdpRelay } from '../src/impairment/relay/udp-relay.ts';
import { binomialInterval } from '../src/impairment/binomial.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An upstream that echoes, records the sizes of the chunks it read, and how its peer ended. */
async function relayedEcho(link: LinkSpec) {
  const chunkSizes: number[] = [];
  const serverEvents: string[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('data', (chunk: Buffer) => {
      chunkSizes.push(chunk.length);
      socket.write(chunk);
    });
    socket.on('end', () => {
      serverEvents.push('end');
      socket.end();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => serverEvents.push(error.code ?? 'error'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const relay = await TcpRelay.start({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port }, link, 1);
  cleanups.push(
    () => new Promise<void>((resolve) => server.close(() => resolve())),
    () => relay.close(),
  );
  const client = net.connect(relay.endpoint);
  client.setNoDelay(true);
  await once(client, 'connect');
  cleanups.push(() => void client.destroy());
  return { relay, client, chunkSizes, serverEvents };
}

async function roundTripMs(client: net.Socket): Promise<number> {
  const started = performance.now();
  client.write('x');
  await once(client, 'data');
  return performance.now() - started;
}

async function medianRtt(client: net.Socket, samples = 21): Promise<number> {
  const rtts: number[] = [];
  for (let i = 0; i < samples; i++) rtts.push(await roundTripMs(client));
  return rtts.sort((a, b) => a - b)[Math.floor(samples / 2)]!;
}

describe('the local relay', () => {
  test("adds each direction's delay to the round trip (tolerance: +6 ms for Node timers on a busy machine)", async () => {
    const { client } = await relayedEcho(parseProfile('asymmetric', { egress: { delayMs: 30 }, ingress: { delayMs: 10 } }));
    const rtt = await medianRtt(client);
    expect(rtt).toBeGreaterThanOrEqual(40);
    expect(rtt).toBeLessThan(46);
  });

  test('limits the rate: 1 MiB at 8,000 kbit/s takes about a second each way', async () => {
    const { client } = await relayedEcho(parseProfile('slow', { rateKbit: 8_000 }));
    const data = Buffer.alloc(1024 * 1024, 7);
    const started = performance.now();
    let received = 0;
    const done = new Promise<void>((resolve) =>
      client.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received === data.length) resolve();
      }),
    );
    client.write(data);
    await done;
    // 1 MiB = 8,389 kbit: 1.05 s through the ingress limit, overlapping with the egress one.
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeGreaterThan(1.0);
    expect(seconds).toBeLessThan(1.6);
  });

  // Segments released together merge again in the receiving kernel, as data held behind a
  // reordered segment does in real TCP; paced by a rate, they arrive one by one.
  test('paces a stream in segment-sized pieces under a rate limit', async () => {
    const { client, chunkSizes } = await relayedEcho(parseProfile('paced', { rateKbit: 4_000 }));
    let received = 0;
    client.on('data', (chunk: Buffer) => (received += chunk.length));
    client.write(Buffer.alloc(64 * 1024, 1));
    while (received < 64 * 1024) await sleep(10);
    expect(chunkSizes.length).toBeGreaterThan(20);
    expect(Math.max(...chunkSizes)).toBeLessThan(16 * 1024);
  });

  test('a partition holds every byte both ways; heal delivers them in order', async () => {
    const { relay, client } = await relayedEcho(loadProfile('clean'));
    expect(await roundTripMs(client)).toBeLessThan(50);
    relay.partition();
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString()));
    client.write('held ');
    client.write('in order');
    await sleep(500);
    expect(received).toBe('');
    relay.heal();
    await sleep(200);
    expect(received).toBe('held in order');
  });

  test('blackhole lets nothing through until the profile changes', async () => {
    const { relay, client } = await relayedEcho(loadProfile('blackhole'));
    let received = '';
    client.on('data', (chunk: Buffer) => (received += chunk.toString()));
    client.write('anyone?');
    await sleep(500);
    expect(received).toBe('');
    relay.set(loadProfile('clean'));
    await sleep(200);
    expect(received).toBe('anyone?');
  });

  test('a half-close reaches the server after the bytes ahead of it; a reset arrives as a reset', async () => {
    const first = await relayedEcho(loadProfile('wan'));
    first.client.end('last words');
    let echoed = '';
    first.client.on('data', (chunk: Buffer) => (echoed += chunk.toString()));
    await once(first.client, 'end');
    expect(echoed).toBe('last words');
    expect(first.serverEvents).toEqual(['end']);

    const second = await relayedEcho(loadProfile('clean'));
    await roundTripMs(second.client);
    second.client.resetAndDestroy();
    await sleep(200);
    expect(second.serverEvents).toEqual(['ECONNRESET']);
  });
});

/** A UDP echo behind the relay; the client counts what comes back per sequence number. */
async function relayedUdpEcho(link: LinkSpec) {
  const server = dgram.createSocket('udp4');
  let serverReceived = 0;
  server.on('message', (message, from) => {
    serverReceived++;
    server.send(message, from.port, from.address);
  });
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  const relay = await UdpRelay.start({ host: '127.0.0.1', port: server.address().port }, link, 3);
  const client = dgram.createSocket('udp4');
  client.bind(0, '127.0.0.1');
  await once(client, 'listening');
  cleanups.push(
    () => void server.close(),
    () => relay.close(),
    () => void client.close(),
  );
  return { relay, client, serverReceived: () => serverReceived };
}

/** Sends `count` numbered datagrams 1 ms apart; returns the sequence numbers echoed, in arrival order. */
async function udpRound(client: dgram.Socket, relay: UdpRelay, count: number, waitMs: number): Promise<number[]> {
  const arrived: number[] = [];
  const listener = (message: Buffer) => arrived.push(message.readUInt32BE(0));
  client.on('message', listener);
  for (let seq = 0; seq < count; seq++) {
    // A fresh buffer each time: send() reads it later, after an address lookup.
    const datagram = Buffer.alloc(32);
    datagram.writeUInt32BE(seq, 0);
    client.send(datagram, relay.endpoint.port, relay.endpoint.host);
    if (seq % 10 === 9) await sleep(1);
  }
  await sleep(waitMs);
  client.off('message', listener);
  return arrived;
}

describe('the local UDP relay', () => {
  // Counts are checked against 99 % binomial intervals; the relay's coin is seeded, so these
  // outcomes are fixed for this seed and cannot flake.
  test('loses, duplicates and reorders datagrams per profile, both ways', async () => {
    const link = parseProfile('udp', { delayMs: 5, lossPercent: 10, duplicatePercent: 10, reorderPercent: 20 });
    const { relay, client, serverReceived } = await relayedUdpEcho(link);
    const count = 2_000;
    const arrived = await udpRound(client, relay, count, 500);
    const distinctIn = serverReceived();
    // Ingress: loss 10 %, duplicates 10 % of what survives.
    const surviving = binomialInterval(count, 0.9);
    expect(distinctIn).toBeGreaterThan(surviving.lo);
    expect(distinctIn).toBeLessThan(surviving.hi * 1.1 + 10);
    const distinctBack = new Set(arrived).size;
    expect(distinctBack / count).toBeGreaterThan(0.75); // 0.9 * 0.9 round trip, less duplicates' help
    expect(distinctBack / count).toBeLessThan(0.88);
    expect(arrived.length).toBeGreaterThan(distinctBack); // duplicates arrived
    const inversions = arrived.filter((seq, i) => i > 0 && seq < arrived[i - 1]!).length;
    expect(inversions).toBeGreaterThan(50);
  });

  test('a rate limit queues at most RATE_QUEUE_MS, then drops, as tbf does', async () => {
    // 1,000 kbit/s: a 1,000-byte datagram takes 8 ms, so a 100 ms queue holds about 13 of a
    // burst of 200 sent at once; the rest are dropped instead of waiting up to 1.6 s.
    const { relay, client, serverReceived } = await relayedUdpEcho(parseProfile('narrow', { ingress: { rateKbit: 1_000 } }));
    const arrived: number[] = [];
    client.on('message', () => arrived.push(performance.now()));
    const started = performance.now();
    for (let i = 0; i < 200; i++) client.send(Buffer.alloc(1_000), relay.endpoint.port, relay.endpoint.host);
    await sleep(1_000);
    // About 13 pass; more if this process is descheduled while the relay reads the burst (each
    // 8 ms of that lets one more in), so the bounds are loose: without the bound all 200 queue,
    // 125 arrive within the second and the last only after 1.6 s.
    const passed = (RATE_QUEUE_MS * 1_000) / 8_000 + 1;
    expect(serverReceived()).toBeGreaterThanOrEqual(passed - 2);
    expect(serverReceived()).toBeLessThanOrEqual(60);
    expect(Math.max(...arrived) - started, 'ms until the last one came back').toBeLessThan(RATE_QUEUE_MS + 500);
  });

  test('delays each direction, and a partition drops everything until heal', async () => {
    const { relay, client } = await relayedUdpEcho(parseProfile('delay', { egress: { delayMs: 20 }, ingress: { delayMs: 10 } }));
    const started = performance.now();
    const first = udpRound(client, relay, 1, 200);
    const arrival = await new Promise<number>((resolve) => client.once('message', () => resolve(performance.now() - started)));
    await first;
    // Never early (the relay re-arms a timer that fires early); late only by a busy machine.
    expect(arrival).toBeGreaterThanOrEqual(30);
    expect(arrival).toBeLessThan(60);
    relay.partition();
    expect(await udpRound(client, relay, 50, 200)).toEqual([]);
    relay.heal();
    expect((await udpRound(client, relay, 50, 200)).length).toBe(50);
  });
});
