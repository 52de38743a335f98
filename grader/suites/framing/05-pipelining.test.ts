import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { randomBytes, stage, useSubmission, type TcpConnection } from 'netkata/harness';
import { describeType, expectSum, frame, ints, readFrame, Type } from './frames.ts';

const server = useSubmission();

/** 1,000 mixed requests and what each must be answered with, in order. */
function mixedRequests(seed: number) {
  return Array.from({ length: 1_000 }, (_, i) => {
    const payload = randomBytes((i * 13) % 512, seed + i);
    if (i % 3 === 0)
      return {
        request: frame(Type.SUM, ints([i, -2 * i, 7])),
        check: (f: Awaited<ReturnType<typeof readFrame>>) => expectSum(f, BigInt(7 - i), `request ${i} (SUM)`),
      };
    if (i % 3 === 1) {
      const digest = createHash('sha256').update(payload).digest('hex');
      return {
        request: frame(Type.SHA256, payload),
        check: (f: Awaited<ReturnType<typeof readFrame>>) =>
          expect(`${describeType(f.type)} ${f.payload.toString('hex')}`, `request ${i} (SHA256)`).toBe(`0x83 ${digest}`),
      };
    }
    return {
      request: frame(Type.ECHO, payload),
      check: (f: Awaited<ReturnType<typeof readFrame>>) =>
        expect(`${describeType(f.type)} ${f.payload.toString('hex')}`, `request ${i} (ECHO)`).toBe(`0x82 ${payload.toString('hex')}`),
    };
  });
}

test('1,000 mixed frames pipelined in one write are answered in request order', stage(5, 10), async () => {
  const requests = mixedRequests(500);
  await using client = await server.connect();
  await client.write(Buffer.concat(requests.map((r) => r.request)));
  for (const { check } of requests) check(await readFrame(client));
});

test('connections are independent: 10 clients interleaving frames each get their own answers', stage(5, 5), async () => {
  const clients: TcpConnection[] = [];
  for (let i = 0; i < 10; i++) clients.push(await server.connect({ label: `c${i + 1}` }));
  for (let round = 0; round < 20; round++) {
    await Promise.all(clients.map((c, i) => c.write(frame(Type.SUM, ints([i, round])))));
  }
  for (const [i, client] of clients.entries()) {
    for (let round = 0; round < 20; round++) expectSum(await readFrame(client), BigInt(i + round), `client ${i + 1} round ${round}`);
  }
});
