// What the harness holds of a flood: a submission that sends without end must fail its own test,
// never run the test worker out of memory (which would be scored as the grader's fault). A
// flooder in a child process offers 1 GB on every connection (and 1 GB of datagrams); the
// worker's unread bytes stay within the stated limits and its memory within a stated bound.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, test } from 'vitest';
import { isGraderFault } from '../src/errors.ts';
import { CONNECTION_BUFFER_BYTES, ExpectationError, TcpConnection, TEST_BUFFER_BYTES, receiveBudgetOf } from '../src/harness/tcp.ts';
import { Transcript } from '../src/harness/transcript.ts';
import { SOCKET_QUEUE_DATAGRAMS, UdpSocket } from '../src/harness/udp.ts';

const MiB = 1024 * 1024;
const OFFERED_BYTES = 1024 * MiB;
/** Past a hold, what may still come in: the chunk under way and the stream's own buffer. */
const SLACK_BYTES = 1 * MiB;
/** The worker's resident memory may grow by this much while 1 GB is offered: it holds 16 MiB, or 64 MiB per test (measured 10 to 51 MiB; without the caps it held 546 MB after 3 s). */
const RSS_GROWTH_BOUND_BYTES = 128 * MiB;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A TCP server in a child process that writes OFFERED_BYTES on every connection as fast as the
 * connection takes them, then closes; it prints its port, then on request what it has written.
 */
async function startTcpFlooder(): Promise<{ port: number; child: ChildProcess }> {
  const script = `
    const net = require('node:net');
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      let left = ${OFFERED_BYTES};
      const pump = () => {
        while (left > 0) {
          left -= chunk.length;
          if (!socket.write(chunk)) return socket.once('drain', pump);
        }
        socket.end();
      };
      pump();
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => void child.kill('SIGKILL'));
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return { port: Number(line), child };
}

const rss = () => process.memoryUsage().rss;

describe('TCP: a connection that floods', () => {
  test('a connection the test does not read holds at most CONNECTION_BUFFER_BYTES; TCP holds the server back', async () => {
    const { port } = await startTcpFlooder();
    const before = rss();
    const connection = await TcpConnection.open({ host: '127.0.0.1', port }, new Transcript(), { label: 'c1' });
    cleanups.push(() => connection.close());
    await sleep(3_000);
    expect(connection.unreadBytes, 'unread bytes held').toBeGreaterThanOrEqual(CONNECTION_BUFFER_BYTES);
    expect(connection.unreadBytes).toBeLessThanOrEqual(CONNECTION_BUFFER_BYTES + SLACK_BYTES);
    // Nothing more comes in: the hold is real, not a race.
    const held = connection.bytesReceived;
    await sleep(500);
    expect(connection.bytesReceived, 'bytes received after the hold').toBe(held);
    expect(rss() - before, "growth of the worker's memory").toBeLessThan(RSS_GROWTH_BOUND_BYTES);
  });

  test('a read asks for more than the limit and gets it; reads then go on; the whole 1 GB streams through consume()', async () => {
    const { port } = await startTcpFlooder();
    const before = rss();
    const connection = await TcpConnection.open({ host: '127.0.0.1', port }, new Transcript(), { label: 'c1' });
    cleanups.push(() => connection.close());
    await sleep(500);
    const big = await connection.read(CONNECTION_BUFFER_BYTES * 2, 10_000);
    expect(big.length).toBe(CONNECTION_BUFFER_BYTES * 2);
    let consumed = 0;
    let peakUnread = 0;
    const left = OFFERED_BYTES - big.length;
    await connection.consume(
      left,
      (piece) => {
        consumed += piece.length;
        peakUnread = Math.max(peakUnread, connection.unreadBytes);
      },
      10_000,
    );
    expect(consumed).toBe(left);
    expect(peakUnread).toBeLessThanOrEqual(CONNECTION_BUFFER_BYTES + SLACK_BYTES);
    expect(await connection.expectClosed(5_000)).toBe('eof');
    expect(rss() - before, "growth of the worker's memory").toBeLessThan(RSS_GROWTH_BOUND_BYTES);
  });

  test("readToEnd on a flood fails as the learner's failure, with the numbers, having held at most its cap", async () => {
    const { port } = await startTcpFlooder();
    const connection = await TcpConnection.open({ host: '127.0.0.1', port }, new Transcript(), { label: 'c1' });
    cleanups.push(() => connection.close());
    const error = await connection.readToEnd(10_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExpectationError);
    expect(isGraderFault(error), "a flood is never the grader's fault").toBe(false);
    expect((error as Error).message).toMatch(/your server sent more than 16 MiB \(16777216 bytes\) without closing the connection/);
    expect(connection.unreadBytes).toBeLessThanOrEqual(CONNECTION_BUFFER_BYTES + SLACK_BYTES);
  });

  test('eight flooded connections of one test hold at most TEST_BUFFER_BYTES together; the transcript says why reading stopped', async () => {
    const { port } = await startTcpFlooder();
    const before = rss();
    const transcript = new Transcript();
    const connections: TcpConnection[] = [];
    for (let i = 0; i < 8; i++) {
      const connection = await TcpConnection.open({ host: '127.0.0.1', port }, transcript, { label: `c${i + 1}` });
      cleanups.push(() => connection.close());
      connections.push(connection);
    }
    await sleep(3_000);
    const total = connections.reduce((sum, c) => sum + c.unreadBytes, 0);
    expect(total, 'unread bytes of the test').toBeGreaterThanOrEqual(TEST_BUFFER_BYTES);
    expect(total).toBeLessThanOrEqual(TEST_BUFFER_BYTES + connections.length * SLACK_BYTES);
    expect(receiveBudgetOf(transcript).bufferedBytes).toBe(total);
    for (const c of connections) expect(c.unreadBytes).toBeLessThanOrEqual(CONNECTION_BUFFER_BYTES + SLACK_BYTES);
    expect(transcript.render()).toMatch(
      /stopped reading with .* unread \(the test reads at most 16 MiB \(16777216 bytes\) per connection and 64 MiB \(67108864 bytes\) per test/,
    );
    expect(rss() - before, "growth of the worker's memory").toBeLessThan(RSS_GROWTH_BOUND_BYTES);
    // Closing returns the budget: a new connection of the same test reads again.
    for (const c of connections) await c.close();
    expect(receiveBudgetOf(transcript).bufferedBytes).toBe(0);
    const fresh = await TcpConnection.open({ host: '127.0.0.1', port }, transcript, { label: 'fresh' });
    cleanups.push(() => fresh.close());
    expect((await fresh.read(4 * MiB, 5_000)).length).toBe(4 * MiB);
  });

  test("a test's own pause() is kept: reading the held bytes does not resume a connection the test paused", async () => {
    const { port } = await startTcpFlooder();
    const connection = await TcpConnection.open({ host: '127.0.0.1', port }, new Transcript(), { label: 'c1' });
    cleanups.push(() => connection.close());
    await sleep(1_000);
    connection.pause();
    await connection.read(connection.unreadBytes);
    const received = connection.bytesReceived;
    await sleep(500);
    expect(connection.bytesReceived - received, 'bytes received while paused').toBeLessThanOrEqual(SLACK_BYTES);
    connection.resume();
    await connection.read(8 * MiB, 5_000);
  });
});

describe('UDP: a sender that floods', () => {
  /** A free port for the flooder to send from: the harness socket is connected to one peer, as to a submission. */
  async function freePort(): Promise<number> {
    const probe = dgram.createSocket('udp4');
    probe.bind(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address();
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  }

  test('1 GB of datagrams: the socket keeps at most CONNECTION_BUFFER_BYTES unread and counts what it dropped', async () => {
    const transcript = new Transcript();
    const flooderPort = await freePort();
    const before = rss();
    const socket = await UdpSocket.open({ host: '127.0.0.1', port: flooderPort }, transcript, { label: 'u1' });
    cleanups.push(() => socket.close());
    const localPort = socketPort(socket);
    const size = 60_000;
    await floodUdpFrom(flooderPort, localPort, Math.ceil(OFFERED_BYTES / size), size);
    expect(socket.pendingBytes, 'unread bytes held').toBeLessThanOrEqual(CONNECTION_BUFFER_BYTES);
    expect(socket.pendingBytes).toBeGreaterThan(CONNECTION_BUFFER_BYTES - size);
    expect(socket.datagramsDropped, 'datagrams dropped by the cap').toBeGreaterThan(0);
    expect(transcript.render()).toMatch(
      /dropping datagrams: \d+ \(.*\) unread; the test keeps at most 16384 datagrams or 16 MiB \(16777216 bytes\) per socket/,
    );
    expect(rss() - before, "growth of the worker's memory").toBeLessThan(RSS_GROWTH_BOUND_BYTES);
    // What was kept is still received, in order of arrival.
    expect((await socket.receive(1_000)).length).toBe(size);
  });

  test('many small datagrams: at most SOCKET_QUEUE_DATAGRAMS are kept', async () => {
    const transcript = new Transcript();
    const flooderPort = await freePort();
    const socket = await UdpSocket.open({ host: '127.0.0.1', port: flooderPort }, transcript, { label: 'u1' });
    cleanups.push(() => socket.close());
    await floodUdpFrom(flooderPort, socketPort(socket), 200_000, 8);
    expect(socket.pending).toBe(SOCKET_QUEUE_DATAGRAMS);
    expect(socket.datagramsDropped).toBeGreaterThan(0);
    expect(socket.datagramsReceived).toBe(SOCKET_QUEUE_DATAGRAMS + socket.datagramsDropped);
  });
});

function socketPort(socket: UdpSocket): number {
  return (socket as unknown as { socket: dgram.Socket }).socket.address().port;
}

/** As floodUdp, from `fromPort` (the harness socket accepts datagrams from its one peer only). */
async function floodUdpFrom(fromPort: number, toPort: number, count: number, sizeBytes: number): Promise<void> {
  const script = `
    const dgram = require('node:dgram');
    const socket = dgram.createSocket('udp4');
    const datagram = Buffer.alloc(${sizeBytes}, 0x62);
    socket.bind(${fromPort}, '127.0.0.1', () => {
      socket.connect(${toPort}, '127.0.0.1', async () => {
        for (let i = 0; i < ${count}; i++) await new Promise((resolve) => socket.send(datagram, resolve));
        socket.close();
      });
    });
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
  cleanups.push(() => void child.kill('SIGKILL'));
  await once(child, 'exit');
  // The last datagrams are still on their way through the event loop.
  await sleep(200);
}
