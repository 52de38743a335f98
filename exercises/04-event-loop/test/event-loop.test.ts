// Visible tests: run them with `npx netkata test event-loop` (your src/main.ts, on your machine,
// in a few seconds). The hidden suite that grades you goes further: see README.md.
import { expect, test } from 'vitest';
import { stage, useSubmission, type TcpConnection } from 'netkata/harness';

// A short idle timeout, so the stage 6 test takes a second; the other tests finish well within it.
const server = useSubmission({ env: { IDLE_TIMEOUT_MS: '1000' } });

const streamBytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));

async function roundTripMs(client: TcpConnection, text: string): Promise<number> {
  const started = performance.now();
  await client.write(`ECHO ${text}\n`);
  expect(await client.readLine()).toBe(text);
  return performance.now() - started;
}

test('ECHO, STATS, an unknown command, QUIT', stage(1, 1), async () => {
  await using client = await server.connect();
  await client.write('ECHO hello\r\nSTATS\nWHAT\nQUIT\n');
  expect(await client.readLine()).toBe('hello');
  expect(await client.readLine()).toMatch(/^conns=\d+ total=\d+$/);
  expect(await client.readLine()).toBe('ERR unknown command');
  expect(await client.readLine()).toBe('BYE');
  await client.expectClosed();
});

test('a command written one byte at a time', stage(2, 1), async () => {
  await using client = await server.connect();
  await client.writeInPieces(Buffer.from('ECHO piece by piece\n'), [1]);
  expect(await client.readLine()).toBe('piece by piece');
});

test('pipelined SLEEP and ECHO come back in request order', stage(3, 1), async () => {
  await using client = await server.connect();
  await client.write('SLEEP 200\nECHO after the sleep\n');
  expect(await client.readLine()).toBe('SLEPT 200');
  expect(await client.readLine()).toBe('after the sleep');
});

test('STREAM 100000 sends exactly the pattern', stage(4, 1), async () => {
  await using client = await server.connect();
  await client.write('STREAM 100000\nECHO end\n');
  expect((await client.read(100_000)).equals(streamBytes(100_000))).toBe(true);
  expect(await client.readLine()).toBe('end');
});

test('SLEEP on one connection does not delay another', stage(5, 1), async () => {
  await using sleeper = await server.connect({ label: 'sleeper' });
  await using other = await server.connect({ label: 'other' });
  await sleeper.write('SLEEP 500\n');
  expect(await roundTripMs(other, 'not waiting')).toBeLessThan(250);
  expect(await sleeper.readLine()).toBe('SLEPT 500');
});

test('an idle connection gets "ERR idle timeout" and is closed', stage(6, 1), async () => {
  await using client = await server.connect();
  expect(await client.readLine(3_000)).toBe('ERR idle timeout');
  await client.expectClosed();
});
