// Stage 6, timing: with the zoo's link under `wan` (set here, on the zoo: a client has no
// long-lived container to impair), a resumed TLS 1.2 handshake lets the client send its request
// a round trip sooner than a full one. The server measures it: TCP accept to the request head
// (requestMs), two round trips for a full TLS 1.2 handshake, one for a resumed one. Jitter
// spreads single samples by ±15 ms and more (medians of three still varied by 30 ms between
// grades), so medians of five, with half a round trip of margin.
import { expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { Exit, said, useZoo } from './zoo.ts';

const zoo = await useZoo();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

test('under wan, resuming at tls12-tickets saves a round trip before the request (medians of five, measured by the server)', stage(6, 3), async (context) => {
  await zoo.link.set('wan');
  await zoo.reset();
  const session = ['--session', `${zoo.stateDir}/session`];
  // One full handshake that saves the session, five resumed, four more full ones.
  for (const args of [session, session, session, session, session, session, [], [], [], []]) {
    const run = await zoo.fetch('tls12-tickets', { args });
    expect(run.exitCode, said(run)).toBe(Exit.ok);
  }
  const connections = (await zoo.memberStats('tls12-tickets')).connections;
  expect(connections.map((c) => c.resumed), 'resumed, per connection the server saw').toEqual([false, true, true, true, true, true, false, false, false, false]);
  const fullMs = median(connections.filter((c) => !c.resumed).map((c) => c.requestMs!));
  const resumedMs = median(connections.filter((c) => c.resumed).map((c) => c.requestMs!));
  context.task.meta.measurements = { fullMs, resumedMs };
  expect(resumedMs, `accept to request: ${fullMs} ms full, ${resumedMs} ms resumed (medians); a round trip is 40 ms`).toBeLessThan(fullMs - 20);
});
