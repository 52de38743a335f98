import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { askStats, eventually, expectAlive, expectBytes, expectLine, expectStream } from './lines.ts';

const server = useSubmission();

test('ECHO sends its text back; a \\r before the \\n is dropped; no text is an empty line', stage(1, 4), async () => {
  await using client = await server.connect();
  await client.write('ECHO hello, event loop\n');
  await expectLine(client, 'hello, event loop', 'ECHO hello, event loop');
  await client.write('ECHO crlf\r\n');
  await expectBytes(client, 'crlf\n', 'ECHO crlf\\r\\n: the \\r is not part of the text');
  await client.write('ECHO\n');
  await expectBytes(client, '\n', 'ECHO with no text: an empty line');
  await client.write('ECHO \n');
  await expectBytes(client, '\n', '"ECHO " (a space, no text): an empty line');
  await client.write('ECHO  two  spaces \n');
  await expectBytes(client, ' two  spaces \n', 'the text is everything after the first space, spaces included');
});

test('STATS counts open connections and connections accepted since start', stage(1, 3), async () => {
  await using first = await server.connect({ label: 'first' });
  // Connections of earlier tests may take a moment to close (through a relay, more than one):
  // let the count settle at this connection alone before counting from it.
  let before = await askStats(first);
  await eventually(async () => (before = await askStats(first)).conns === 1, 2_000);
  expect(before.conns, 'conns counts the connection asking').toBeGreaterThanOrEqual(1);
  expect(before.total, 'total counts every connection accepted since start').toBeGreaterThanOrEqual(before.conns);
  await using second = await server.connect({ label: 'second' });
  await using third = await server.connect({ label: 'third' });
  await expectAlive(second);
  await expectAlive(third);
  const during = await askStats(first);
  expect(`conns +${during.conns - before.conns}, total +${during.total - before.total}`, 'after two more connections').toBe('conns +2, total +2');
  await second.close();
  // The server learns of the close on its next read of that socket: give it a moment.
  let after = during;
  await eventually(async () => (after = await askStats(first)).conns === before.conns + 1, 2_000);
  expect(`conns +${after.conns - before.conns}, total +${after.total - before.total}`, 'after one of them closed').toBe('conns +1, total +2');
});

test('unknown commands and bad arguments get an error line; the connection stays usable', stage(1, 3), async () => {
  await using client = await server.connect();
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['HELLO', 'ERR unknown command'],
    ['', 'ERR unknown command'],
    ['echo lower case', 'ERR unknown command'],
    ['ECHOES x', 'ERR unknown command'],
    ['SLEEP', 'ERR bad argument'],
    ['SLEEP soon', 'ERR bad argument'],
    ['SLEEP -5', 'ERR bad argument'],
    ['SLEEP 1.5', 'ERR bad argument'],
    ['SLEEP 60001', 'ERR bad argument'],
    ['STREAM', 'ERR bad argument'],
    ['STREAM 12kb', 'ERR bad argument'],
    ['STREAM 4294967297', 'ERR bad argument'],
  ];
  for (const [line, expected] of cases) {
    await client.write(`${line}\n`);
    await expectLine(client, expected, `answer to ${JSON.stringify(line)}`);
  }
  await client.write('ECHO still here\n');
  await expectLine(client, 'still here', 'ECHO after the errors');
});

test('STREAM n sends exactly n bytes, byte i being i % 251, and nothing more', stage(1, 2), async () => {
  await using client = await server.connect();
  await client.write('STREAM 1000\n');
  await expectStream(client, 1000, 'STREAM 1000');
  await client.write('ECHO after the stream\n');
  await expectLine(client, 'after the stream', 'the first line after 1000 stream bytes');
  await client.write('STREAM 0\n');
  await client.write('ECHO after nothing\n');
  await expectLine(client, 'after nothing', 'STREAM 0 sends nothing: the next answer follows at once');
});

test('QUIT answers BYE, then the server closes; lines after it are not answered', stage(1, 3), async () => {
  await using client = await server.connect();
  await client.write('ECHO before\nQUIT\nECHO after\n');
  await expectLine(client, 'before', 'ECHO before QUIT');
  await expectLine(client, 'BYE', 'QUIT');
  expect((await client.readToEnd(5_000)).toString('latin1'), 'bytes after BYE (the server should close)').toBe('');
});
