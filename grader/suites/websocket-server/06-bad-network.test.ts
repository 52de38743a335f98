import { expect, test } from 'vitest';
import { randomBytes, seededRandom, stage, useSubmission } from 'netkata/harness';
import { Op, openWs, type WsClient } from './ws.ts';

// Stage 6 runs under the manifest's bad-network profiles (wan, lossy): delay, jitter, loss,
// duplication and reordering on every packet. TCP repairs all of it; frames still arrive cut
// anywhere, and pings and fragments interleave as the network pleases.
const server = useSubmission();
const IO_MS = 15_000;

test(
  '50 messages up to 100 KB, some fragmented with pings between, come back exactly across a bad link (RFC 6455 §5.4, §5.5.2)',
  stage(6, 5, { timeout: 90_000 }),
  async () => {
    await using ws = await openWs(server, '/echo', { timeoutMs: IO_MS });
    const random = seededRandom(61);
    for (let i = 0; i < 50; i++) {
      const data = randomBytes(Math.floor(random() * 100_000), 600 + i);
      if (i % 5 === 0) {
        const cut = Math.floor(data.length / 2);
        await ws.send(Op.binary, data.subarray(0, cut), { fin: false });
        await ws.send(Op.ping, `p${i}`);
        await ws.send(Op.continuation, data.subarray(cut));
      } else await ws.send(Op.binary, data);
      await ws.expectMessage(data, Op.binary, `message ${i + 1} of 50 (${data.length} bytes)`, IO_MS);
    }
    expect(
      ws.controls.map((f) => f.payload.toString()),
      'a pong for each ping, in order',
    ).toEqual(Array.from({ length: 10 }, (_, k) => `p${k * 5}`));
  },
);

test('a room of 20 across a bad link: every message to every member, in one order (RFC 6455 §5.6)', stage(6, 5, { timeout: 90_000 }), async () => {
  const members: WsClient[] = [];
  try {
    for (let i = 0; i < 20; i++) members.push(await openWs(server, '/room', { label: `m${i + 1}`, timeoutMs: IO_MS }));
    await members[0]!.text('start');
    for (const m of members) await m.expectMessage('start', Op.text, 'the first message', IO_MS);
    await Promise.all(
      members.slice(0, 5).map(async (m, i) => {
        for (let k = 0; k < 10; k++) await m.text(`m${i}-${k}`);
      }),
    );
    const lists = await Promise.all(
      members.map(async (m) => {
        const got: string[] = [];
        while (got.length < 50) got.push((await m.readMessage(IO_MS)).payload.toString());
        return got;
      }),
    );
    for (const [i, list] of lists.entries()) expect(list, `member ${i + 1}'s order`).toEqual(lists[0]);
  } finally {
    await Promise.all(members.map((m) => m.conn.close()));
  }
});
