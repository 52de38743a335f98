import { expect, test } from 'vitest';
import { pieceSizes, randomBytes, stage, useSubmission } from 'netkata/harness';
import { expectAlive, expectBytes, expectLine, MAX_LINE_BYTES, pattern } from './lines.ts';

const server = useSubmission();

/** Printable text without \r or \n, different for every seed. */
function text(length: number, seed: number): string {
  return [...randomBytes(length, seed)].map((b) => String.fromCharCode(0x20 + (b % 95))).join('');
}

test('commands written one byte at a time', stage(2, 4), async () => {
  await using client = await server.connect();
  await client.writeInPieces(Buffer.from('ECHO one byte at a time\r\nSTREAM 5\nECHO done\n'), [1]);
  await expectLine(client, 'one byte at a time', 'ECHO split into single bytes');
  await expectBytes(client, pattern(0, 5).toString('latin1'), 'STREAM 5 split into single bytes');
  await expectLine(client, 'done', 'the last ECHO');
});

test('500 commands in one write are 500 answers, in order', stage(2, 4), async () => {
  const requests: string[] = [];
  const answers: Buffer[] = [];
  for (let i = 0; i < 500; i++) {
    if (i % 10 === 3) {
      requests.push(`STREAM ${i}`);
      answers.push(pattern(0, i));
    } else if (i % 10 === 7) {
      requests.push(`NOPE ${i}`);
      answers.push(Buffer.from('ERR unknown command\n'));
    } else {
      const t = `${i} ${text(i % 60, i)}`;
      requests.push(`ECHO ${t}`);
      answers.push(Buffer.from(`${t}\n`));
    }
  }
  await using client = await server.connect();
  await client.write(`${requests.join('\n')}\n`);
  for (const [i, answer] of answers.entries()) {
    const got = await client.read(answer.length, 10_000);
    expect(JSON.stringify(got.toString('latin1')), `answer ${i + 1} of 500, to ${JSON.stringify(requests[i]!.slice(0, 40))}`).toBe(
      JSON.stringify(answer.toString('latin1')),
    );
  }
});

test('200 lines split at random points across writes', stage(2, 3), async () => {
  const texts = Array.from({ length: 200 }, (_, i) => text(1 + ((i * 37) % 300), 1_000 + i));
  await using client = await server.connect();
  const writing = client.writeInPieces(Buffer.from(texts.map((t) => `ECHO ${t}\n`).join('')), pieceSizes(500, 1, 97, 2));
  for (const [i, t] of texts.entries()) await expectLine(client, t, `line ${i}`);
  await writing;
});

test('a line of exactly 65,536 bytes is answered', stage(2, 2), async () => {
  const t = 'x'.repeat(MAX_LINE_BYTES - 'ECHO '.length);
  await using client = await server.connect();
  await client.write(`ECHO ${t}\n`);
  const line = await client.readLine(10_000);
  expect(line === t, `answer to a 65,536-byte ECHO line: ${line.length} bytes, starting ${JSON.stringify(line.slice(0, 30))}`).toBe(true);
});

test('a line over 64 KiB gets "ERR line too long", then the server closes, without waiting for its \\n', stage(2, 2), async () => {
  await using unfinished = await server.connect({ label: 'nonl' });
  await expectAlive(unfinished);
  // 100,000 bytes and no \n: a server that waits for the end of the line never answers.
  await unfinished.write(`ECHO ${'y'.repeat(100_000)}`);
  await expectLine(unfinished, 'ERR line too long', '100,000 bytes without a \\n');
  await unfinished.expectClosed(5_000);
  await using whole = await server.connect({ label: 'long' });
  await whole.write(`ECHO ${'z'.repeat(MAX_LINE_BYTES)}\n`);
  await expectLine(whole, 'ERR line too long', 'a complete line of 65,541 bytes');
  await whole.expectClosed(5_000);
});
