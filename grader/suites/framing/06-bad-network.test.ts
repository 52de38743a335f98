import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { expectBytes, pieceSizes, randomBytes, stage, useSubmission } from 'netkata/harness';
import { describeType, expectAlive, expectSum, frame, ints, readFrame, Type } from './frames.ts';

// Stage 6 runs under the manifest's bad-network profiles (wan, lossy). TCP repairs the
// packets; what a server must survive is time: frames trickling in, split anywhere.
const server = useSubmission();

test('four clients pipelining split frames across a bad link get every answer in order', stage(6, 10, { timeout: 90_000 }), async () => {
  await Promise.all(
    [0, 1, 2, 3].map(async (c) => {
      const lists = Array.from({ length: 100 }, (_, i) => [c, i, -i * 1_000, 2 ** 30]);
      await using client = await server.connect({ label: `c${c + 1}`, timeoutMs: 15_000 });
      await expectAlive(client, 10_000);
      const writing = client.writeInPieces(Buffer.concat(lists.map((l) => frame(Type.SUM, ints(l)))), pieceSizes(300, 1, 40, 70 + c));
      for (const [i, list] of lists.entries())
        expectSum(
          await readFrame(client, 20_000),
          list.reduce((s, v) => s + BigInt(v), 0n),
          `client ${c + 1} SUM ${i}`,
        );
      await writing;
    }),
  );
});

test('a 1 MiB SHA256 frame across a bad link', stage(6, 5, { timeout: 90_000 }), async () => {
  const payload = randomBytes(1024 * 1024, 66);
  await using client = await server.connect({ timeoutMs: 15_000 });
  await expectAlive(client, 10_000);
  await client.write(frame(Type.SHA256, payload));
  const response = await readFrame(client, 45_000);
  expect(describeType(response.type)).toBe('0x83');
  expectBytes(response.payload, createHash('sha256').update(payload).digest(), 'the SHA-256 payload');
});
