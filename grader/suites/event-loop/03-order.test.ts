import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { expectLine, expectStream, round } from './lines.ts';

const server = useSubmission();

// A timer may fire a fraction of a millisecond early by the client's clock.
const TIMER_SLACK_MS = 5;

test('SLEEP 300 answers "SLEPT 300" after at least 300 ms', stage(3, 4), async () => {
  await using client = await server.connect();
  const started = performance.now();
  await client.write('SLEEP 300\n');
  await expectLine(client, 'SLEPT 300', 'SLEEP 300', 5_000);
  const elapsedMs = performance.now() - started;
  expect(round(elapsedMs), 'ms until SLEPT 300').toBeGreaterThanOrEqual(300 - TIMER_SLACK_MS);
});

test('pipelined SLEEPs and ECHOs are answered in request order', stage(3, 5), async () => {
  await using client = await server.connect();
  const started = performance.now();
  await client.write('SLEEP 300\nECHO a\nSLEEP 100\nECHO b\nSLEEP 0\nECHO c\n');
  const expected: ReadonlyArray<readonly [string, number]> = [
    ['SLEPT 300', 300],
    ['a', 300],
    ['SLEPT 100', 300],
    ['b', 300],
    ['SLEPT 0', 300],
    ['c', 300],
  ];
  for (const [i, [line, notBeforeMs]] of expected.entries()) {
    await expectLine(client, line, `answer ${i + 1} of 6 (answers come in request order)`, 5_000);
    const elapsedMs = performance.now() - started;
    expect(round(elapsedMs), `ms until "${line}": it follows SLEPT 300`).toBeGreaterThanOrEqual(notBeforeMs - TIMER_SLACK_MS);
  }
});

test('a STREAM in a pipeline: its bytes, then the next answers', stage(3, 3), async () => {
  await using client = await server.connect();
  await client.write('STREAM 300000\nECHO done\nSTREAM 7\nECHO end\n');
  await expectStream(client, 300_000, 'STREAM 300000', 10_000);
  await expectLine(client, 'done', 'the ECHO after STREAM 300000');
  await expectStream(client, 7, 'STREAM 7');
  await expectLine(client, 'end', 'the ECHO after STREAM 7');
});

test('a client that shuts down its sending side still gets every answer, then the server closes', stage(3, 3), async () => {
  await using client = await server.connect();
  await client.write('SLEEP 200\nECHO last\n');
  await client.end();
  await expectLine(client, 'SLEPT 200', 'SLEEP 200 sent before the FIN');
  await expectLine(client, 'last', 'ECHO last sent before the FIN');
  expect((await client.readToEnd(5_000)).toString('latin1'), 'bytes after the last answer (the server should close)').toBe('');
});
