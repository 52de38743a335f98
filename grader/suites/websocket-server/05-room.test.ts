import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { figure, stage, useSubmission } from 'netkata/harness';
import { encodeFrame, Op, openWs, type WsClient } from './ws.ts';

// Stage 5: the room (/room): every message to every member, the sender included, in one order
// for all; a member that stops reading is dropped before it costs unbounded memory, and an
// /echo client that sends without reading is held back by TCP.
const server = useSubmission();
const MiB = 1024 * 1024;

/** Reads `count` messages from each member, all at once; returns each member's list. */
async function collect(members: readonly WsClient[], count: number, timeoutMs = 20_000): Promise<string[][]> {
  return Promise.all(
    members.map(async (m, i) => {
      const got: string[] = [];
      while (got.length < count) {
        const message = await m.readMessage(timeoutMs).catch((error: Error) => {
          throw new Error(`member ${i + 1} of ${members.length} got ${got.length} of ${count} messages: ${error.message}`, { cause: error });
        });
        got.push(message.payload.toString());
      }
      return got;
    }),
  );
}

test(
  '200 members, 10 of them sending 20 messages each at once: all 200 messages reach every member, in one order (RFC 6455 §5.6)',
  stage(5, 8, { timeout: 90_000 }),
  async () => {
    const members: WsClient[] = [];
    try {
      for (let i = 0; i < 200; i += 20)
        members.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => openWs(server, '/room', { label: `m${i + k + 1}` })))));
      // Every member is in the room once its handshake is answered: a first message shows it.
      await members[0]!.text('hello, room');
      const greeting = await collect(members, 1);
      expect(
        greeting.every((g) => g[0] === 'hello, room'),
        'every member got the first message',
      ).toBe(true);
      const senders = members.slice(0, 10);
      const reading = collect(members, 200, 30_000);
      await Promise.all(senders.map(async (s, i) => s.conn.write(Buffer.concat(Array.from({ length: 20 }, (_, k) => encodeFrame(Op.text, `s${i}-${k}`))))));
      const lists = await reading;
      const order = lists[0]!;
      for (const [i, list] of lists.entries()) {
        expect(list, `member ${i + 1}: the room's order is everyone's order`).toEqual(order);
      }
      for (let i = 0; i < 10; i++) {
        const own = order.filter((m) => m.startsWith(`s${i}-`));
        expect(own, `sender ${i + 1}'s messages, in the order it sent them`).toEqual(Array.from({ length: 20 }, (_, k) => `s${i}-${k}`));
      }
    } finally {
      await Promise.all(members.map((m) => m.conn.close()));
    }
  },
);

test(
  'a member that stops reading is dropped; the others get every message, and memory stays bounded (RFC 6455 §10.4)',
  stage(5, 4, { timeout: 90_000 }),
  async ({ task }) => {
    const sender = await openWs(server, '/room', { label: 'sender' });
    const reader = await openWs(server, '/room', { label: 'reader' });
    const slow = await openWs(server, '/room', { label: 'slow' });
    try {
      slow.conn.pause();
      const before = (await server.processStats()).memoryBytes;
      let peak = before;
      const payload = Buffer.alloc(64 * 1024, 0x61);
      // 64 MiB to the room: far more than any bound on what a member may have waiting.
      const count = 1024;
      const reading = (async () => {
        for (let i = 0; i < count; i++) await reader.expectMessage(payload, Op.binary, `message ${i + 1} of ${count} to the member that reads`, 20_000);
      })();
      for (let i = 0; i < count; i++) {
        await sender.send(Op.binary, payload);
        if (i % 64 === 0) peak = Math.max(peak, (await server.processStats()).memoryBytes);
        // The sender is in the room too: it reads its own copies, or TCP would hold it back.
        await sender.expectMessage(payload, Op.binary, `the sender's own copy of message ${i + 1}`, 20_000);
      }
      await reading;
      peak = Math.max(peak, (await server.processStats()).memoryBytes);
      const growthMiB = figure(task, 'memoryGrowthMiB', Math.round((peak - before) / MiB), { max: 48 });
      expect(growthMiB, 'what the server held while one member did not read 64 MiB (MiB)').toBeLessThanOrEqual(48);
      slow.conn.resume();
      await slow.conn.expectClosed(20_000).catch((error: Error) => {
        throw new Error(`the member that stopped reading was never dropped: ${error.message}`, { cause: error });
      });
      await server.assertRunning();
    } finally {
      await Promise.all([sender, reader, slow].map((m) => m.conn.close()));
    }
  },
);

test(
  'an /echo client that sends 64 MiB without reading is held back by TCP, in bounded memory (RFC 6455 §10.4)',
  stage(5, 3, { timeout: 90_000 }),
  async ({ task }) => {
    await using ws = await openWs(server);
    ws.conn.pause();
    const before = (await server.processStats()).memoryBytes;
    const frame = encodeFrame(Op.binary, Buffer.alloc(64 * 1024, 0x62));
    let sent = 0;
    const writing = (async () => {
      for (let i = 0; i < 1024; i++) {
        await ws.conn.write(frame);
        sent += frame.length;
      }
    })();
    // The server must stop reading once its answers pile up; the writes then stall.
    await Promise.race([writing, sleep(5_000)]);
    const stats = await server.processStats();
    const growthMiB = figure(task, 'memoryGrowthMiB', Math.round((stats.memoryBytes - before) / MiB), { max: 48 });
    figure(task, 'sentMiB', Math.round(sent / MiB));
    expect(sent, 'bytes the server took from a client that read nothing back: TCP should hold it well before 64 MiB').toBeLessThan(64 * MiB);
    expect(growthMiB, 'what the server held (MiB)').toBeLessThanOrEqual(48);
    await ws.conn.close();
    await server.assertRunning();
  },
);
