import { expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { joinAll, loginAll } from './chat.ts';

const server = useSubmission();

test('JOIN: OK to the joiner, JOINED to the members already there; joining again tells nobody', stage(2, 4), async () => {
  const [ann, ben, cat] = await loginAll(server, ['ann', 'ben', 'cat']);
  await ann!.join('#lobby');
  await ben!.join('#lobby');
  await ann!.expectPush('JOINED #lobby ben');
  await ben!.expectNoPushes('a joiner is not told about itself');
  await cat!.join('#lobby');
  await ann!.expectPush('JOINED #lobby cat');
  await ben!.expectPush('JOINED #lobby cat');
  await ann!.join('#lobby');
  await ben!.expectNoPushes('ann joined #lobby again, where she already was');
  await cat!.expectNoPushes('ann joined #lobby again, where she already was');
  await cat!.expectNoPushes('a joiner is not told about itself');
});

test('JOIN refuses room names that are not # and 1-32 of A-Za-z0-9_-', stage(2, 2), async () => {
  const [dan] = await loginAll(server, ['dan']);
  for (const bad of ['JOIN lobby', 'JOIN #', 'JOIN', 'JOIN #two words', `JOIN #${'x'.repeat(33)}`, 'JOIN #dé', 'JOIN ##']) {
    await dan!.expectReply(bad, 'ERR bad room');
  }
  await dan!.join(`#${'A-z_9'.repeat(6)}xy`);
});

test('MSG reaches every other member, not the sender, not outsiders', stage(2, 4), async () => {
  const [eve, fay, gus, hal] = await loginAll(server, ['eve', 'fay', 'gus', 'hal']);
  await joinAll('#m', [eve!, fay!, gus!]);
  await hal!.join('#elsewhere');
  await eve!.expectReply('MSG #m hello there', 'OK');
  await fay!.expectPush('MSG #m eve hello there');
  await gus!.expectPush('MSG #m eve hello there');
  await eve!.expectNoPushes('a sender does not get its own MSG');
  await hal!.expectNoPushes('hal is not in #m');
  await hal!.expectReply('MSG #m let me in', 'ERR not in room');
  await hal!.expectReply('MSG #nobody-here hi', 'ERR not in room');
  await hal!.expectReply('MSG m hi', 'ERR bad room');
  await hal!.expectReply('MSG # hi', 'ERR bad room');
  await fay!.expectNoPushes('refused MSGs reach nobody');
});

test('MSG text is relayed byte for byte: spaces, UTF-8, a character split across writes', stage(2, 3), async () => {
  const [ida, jon] = await loginAll(server, ['ida', 'jon']);
  await joinAll('#t', [ida!, jon!]);
  const text = '  spaced   out: héllo wörld, 你好, 🌍 ';
  await ida!.conn.writeInPieces(Buffer.from(`MSG #t ${text}\n`), [1, 2, 3]);
  expect(await ida!.reply(), 'the reply to a MSG written in 1-3 byte pieces').toBe('OK');
  await jon!.expectPush(`MSG #t ida ${text}`);
});

test('WHO lists a room sorted by byte value; any room name works, an unknown room lists nobody', stage(2, 3), async () => {
  const nicks = ['zed', 'Bob', '_x', '9a', '-m', 'amy'];
  const members = await loginAll(server, nicks);
  for (const member of members) await member.join('#who');
  const [outsider] = await loginAll(server, ['kim']);
  await outsider!.expectReply('WHO #who', 'WHO #who -m 9a Bob _x amy zed');
  await outsider!.expectReply('WHO #empty-room', 'WHO #empty-room');
  await outsider!.expectReply('WHO who', 'ERR bad room');
  await members[0]!.expectReply('WHO #who', 'WHO #who -m 9a Bob _x amy zed');
});

test('PART: OK, PARTED to the rest, no more messages; parting a room you are not in is refused', stage(2, 2), async () => {
  const [lea, max, ned] = await loginAll(server, ['lea', 'max', 'ned']);
  await joinAll('#p', [lea!, max!, ned!]);
  await max!.expectReply('PART #p', 'OK');
  await lea!.expectPush('PARTED #p max');
  await ned!.expectPush('PARTED #p max');
  await max!.expectNoPushes('a client that parts is not told about itself');
  await lea!.expectReply('MSG #p still here?', 'OK');
  await ned!.expectPush('MSG #p lea still here?');
  await max!.expectNoPushes('max left #p');
  await lea!.expectReply('WHO #p', 'WHO #p lea ned');
  await max!.expectReply('PART #p', 'ERR not in room');
  await max!.expectReply('PART #never-joined', 'ERR not in room');
  await max!.expectReply('PART p', 'ERR bad room');
  await max!.expectReply('MSG #p back?', 'ERR not in room');
  await lea!.expectReply('PART #p', 'OK');
  await ned!.expectPush('PARTED #p lea');
  await ned!.expectReply('PART #p', 'OK');
  await ned!.expectReply('WHO #p', 'WHO #p');
});

test('PRIV reaches one nick, case-sensitive; an unknown nick is refused', stage(2, 1), async () => {
  const [oli, pam, quy] = await loginAll(server, ['oli', 'pam', 'quy']);
  await joinAll('#priv', [oli!, pam!, quy!]);
  await oli!.expectReply('PRIV pam psst, a secret', 'OK');
  await pam!.expectPush('PRIV oli psst, a secret');
  await quy!.expectNoPushes('the PRIV was for pam');
  await oli!.expectReply('PRIV Pam hello?', 'ERR no such nick');
  await oli!.expectReply('PRIV nobody hello?', 'ERR no such nick');
  await oli!.expectNoPushes('refused PRIVs reach nobody');
});

test('a renamed nick shows in WHO, MSG and PRIV; the old one reaches nobody', stage(2, 1), async () => {
  const [rex, sue] = await loginAll(server, ['rex', 'sue']);
  await joinAll('#n', [rex!, sue!]);
  await rex!.expectReply('NICK rex2', 'OK');
  await sue!.expectNoPushes('a rename tells nobody');
  await sue!.expectReply('WHO #n', 'WHO #n rex2 sue');
  await rex!.expectReply('MSG #n new name', 'OK');
  await sue!.expectPush('MSG #n rex2 new name');
  await sue!.expectReply('PRIV rex old name?', 'ERR no such nick');
  await sue!.expectReply('PRIV rex2 new name!', 'OK');
  await rex!.expectPush('PRIV sue new name!');
});
