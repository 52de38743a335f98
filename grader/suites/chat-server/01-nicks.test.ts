import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { ChatClient } from './chat.ts';

const server = useSubmission();

test('NICK takes a free name and refuses a taken one; nicks are case-sensitive', stage(1, 4), async () => {
  const first = await ChatClient.connect(server, 'c1');
  await first.expectReply('NICK alice', 'OK');
  const second = await ChatClient.connect(server, 'c2');
  await second.expectReply('NICK alice', 'ERR nick taken');
  await second.expectReply('NICK Alice', 'OK');
  // Asking again for the nick you hold is not a conflict.
  await first.expectReply('NICK alice', 'OK');
});

test('NICK refuses names that are not 1-16 of A-Za-z0-9_-', stage(1, 3), async () => {
  const client = await ChatClient.connect(server, 'c1');
  for (const bad of ['NICK', 'NICK ', 'NICK two words', 'NICK seventeen_chars_x', 'NICK no!', 'NICK #room', 'NICK héllo', 'NICK a.b']) {
    await client.expectReply(bad, 'ERR bad nick');
  }
  await client.expectReply('NICK A-z_09-sixteen__', 'OK');
});

test('before a nick: ERR no nick, ERR unknown command, BYE for QUIT, and nothing for PONG', stage(1, 3), async () => {
  const client = await ChatClient.connect(server, 'c1');
  // One write, many lines: each gets its answer, in order.
  await client.sendRaw('JOIN #a\nPART #a\nMSG #a hi\nPRIV bob hi\nWHO #a\nHELLO\nnick lower\n\nPONG 1234\nNICK nobody_yet\n');
  for (const command of ['JOIN #a', 'PART #a', 'MSG #a hi', 'PRIV bob hi', 'WHO #a']) {
    expect(await client.reply(5_000, `the reply to "${command}"`), `the reply to "${command}" before a NICK`).toBe('ERR no nick');
  }
  for (const command of ['HELLO', 'nick lower', '']) {
    expect(await client.reply(5_000, `the reply to "${command}"`), `the reply to ${JSON.stringify(command)} (commands are upper case)`).toBe(
      'ERR unknown command',
    );
  }
  // PONG gets no reply, so the next reply is NICK's.
  expect(await client.reply(5_000, 'the reply to "NICK nobody_yet"'), 'the reply after "PONG 1234" (which gets none), to "NICK nobody_yet"').toBe('OK');

  const quitter = await ChatClient.connect(server, 'c2');
  await quitter.expectReply('QUIT', 'BYE');
  await quitter.expectClosed();
});

test('lines split anywhere or merged; a \\r before the \\n is dropped', stage(1, 3), async () => {
  const client = await ChatClient.connect(server, 'c1');
  await client.conn.writeInPieces(Buffer.from('NICK carol\r\n'), [1]);
  expect(await client.reply(), 'the reply to "NICK carol\\r\\n" written one byte at a time').toBe('OK');
  await client.sendRaw('WHO #x\nWHO #y\r\nWHO #z\n');
  for (const room of ['#x', '#y', '#z']) expect(await client.reply(), `the reply to "WHO ${room}"`).toBe(`WHO ${room}`);
  await client.sendRaw('WHO #spl');
  await client.sendRaw('it\nWH');
  expect(await client.reply(), 'the reply to "WHO #split" written as "WHO #spl" + "it\\nWH"').toBe('WHO #split');
  await client.sendRaw('O #rest\n');
  expect(await client.reply(), 'the reply to the "WHO #rest" that started in the previous write').toBe('WHO #rest');
});

test('NICK again renames: the old nick is free at once', stage(1, 2), async () => {
  const dave = await ChatClient.connect(server, 'c1');
  await dave.expectReply('NICK dave', 'OK');
  await dave.expectReply('NICK dave2', 'OK');
  const other = await ChatClient.connect(server, 'c2');
  await other.expectReply('NICK dave', 'OK');
  await other.expectReply('NICK dave2', 'ERR nick taken');
});
