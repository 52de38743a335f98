import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { ChatClient, joinAll, loginAll } from './chat.ts';

const server = useSubmission();

test('QUIT: BYE, the server closes, and everyone sharing a room hears QUIT once', stage(3, 4), async () => {
  const [ava, bo, cy, di] = await loginAll(server, ['ava', 'bo', 'cy', 'di']);
  await joinAll('#q1', [ava!, bo!, cy!]);
  await joinAll('#q2', [ava!, bo!]);
  await di!.join('#q-other');
  await ava!.expectReply('QUIT', 'BYE');
  await ava!.expectClosed();
  await bo!.expectPush('QUIT ava');
  await cy!.expectPush('QUIT ava');
  await bo!.expectNoPushes('bo shares two rooms with ava, and hears her QUIT once');
  await cy!.expectNoPushes('one QUIT per departure');
  await di!.expectNoPushes('di shares no room with ava');
  await bo!.expectReply('WHO #q1', 'WHO #q1 bo cy');
  await bo!.expectReply('WHO #q2', 'WHO #q2 bo');
  const again = await ChatClient.connect(server, 'ava-2');
  await again.expectReply('NICK ava', 'OK');
});

test('a client that resets is announced once, and its nick is free again', stage(3, 4), async () => {
  const [ed, flo] = await loginAll(server, ['ed', 'flo']);
  await joinAll('#r1', [ed!, flo!]);
  await joinAll('#r2', [ed!, flo!]);
  ed!.conn.reset();
  await flo!.expectPush('QUIT ed');
  await flo!.expectNoPushes('flo shares two rooms with ed, and hears his QUIT once');
  await flo!.expectReply('WHO #r1', 'WHO #r1 flo');
  const again = await ChatClient.connect(server, 'ed-2');
  await again.expectReply('NICK ed', 'OK');
});

test('a client that closes its side (EOF) is announced once', stage(3, 3), async () => {
  const [gil, hui] = await loginAll(server, ['gil', 'hui']);
  await joinAll('#eof', [gil!, hui!]);
  await joinAll('#eof2', [gil!, hui!]);
  await gil!.conn.end();
  await hui!.expectPush('QUIT gil');
  await gil!.expectClosed();
  await hui!.expectNoPushes('one QUIT per departure');
  await hui!.expectReply('WHO #eof', 'WHO #eof hui');
});

test('a line of 4,096 bytes is fine; 4,097 bytes get ERR line too long and a drop, announced', stage(3, 2), async () => {
  const [ivy, jo] = await loginAll(server, ['ivy', 'jo']);
  await joinAll('#long', [ivy!, jo!]);
  // '€' is 3 bytes: a server that counts characters sees 1,372 and 1,373, far under 4,096.
  const text = '€'.repeat(1_362);
  const longest = `MSG #long ${text}`;
  expect(Buffer.byteLength(longest)).toBe(4_096);
  await ivy!.expectReply(longest, 'OK');
  await jo!.expectPush(`MSG #long ivy ${text}`);
  await ivy!.expectReply(`${longest}x`, 'ERR line too long');
  await ivy!.expectClosed();
  await jo!.expectPush('QUIT ivy');
  await jo!.expectNoPushes('one QUIT per departure');
});

test('4,097 bytes without a newline get ERR line too long at once, then a drop', stage(3, 2), async () => {
  const [kai, lu] = await loginAll(server, ['kai', 'lu']);
  await joinAll('#nonl', [kai!, lu!]);
  // No \n ever comes: a server waiting for the end of the line waits forever.
  await kai!.sendRaw(Buffer.alloc(4_097, 'y'));
  expect(await kai!.reply(3_000, 'ERR line too long, without waiting for a newline'), 'the reply to 4,097 bytes without a newline').toBe('ERR line too long');
  await kai!.expectClosed();
  await lu!.expectPush('QUIT kai');
});
