import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { ack, expectError, fetchFile } from './client.ts';

const files = {
  'ok.txt': Buffer.from('inside FILES_DIR\n'),
  'sub/inner.txt': Buffer.from('in a subfolder\n'),
};
const server = useSubmission({ files });

test('names that are not a plain file name in FILES_DIR get ERROR; a plain one is served', stage(2, 6), async () => {
  await using client = await server.udp();
  const names = ['../ok.txt', '/etc/passwd', '../../etc/passwd', 'sub/inner.txt', 'sub', '..', '.', '', 'ok.txt/'];
  for (const [i, name] of names.entries()) await expectError(client, name, 100 + i);
  const ok = await fetchFile(client, 'ok.txt', { id: 1, deadlineMs: 5_000 });
  expect(ok.data.toString()).toBe('inside FILES_DIR\n');
});

test('malformed datagrams get no answer, and the server keeps serving', stage(2, 4), async () => {
  await using client = await server.udp();
  const garbage = [
    Buffer.alloc(0),
    Buffer.from([0x01]),
    Buffer.from([0x01, 0, 0]),
    Buffer.from([0x09, 0, 0, 0, 1, 0x41]),
    Buffer.from([0x02, 0, 0, 0, 1, 0, 0, 0, 0, 0x41]),
    ack(999, 5),
    Buffer.from([0x03, 0, 0, 0, 1, 0, 0]),
  ];
  for (const datagram of garbage) await client.send(datagram);
  const answer = await client.tryReceive(500);
  expect(answer ? `a ${answer.length}-byte datagram of type 0x${answer[0]?.toString(16)}` : 'nothing', 'what the server answered to malformed datagrams').toBe(
    'nothing',
  );
  await server.assertRunning();
  const ok = await fetchFile(client, 'ok.txt', { id: 2, deadlineMs: 5_000 });
  expect(ok.data.toString()).toBe('inside FILES_DIR\n');
});
