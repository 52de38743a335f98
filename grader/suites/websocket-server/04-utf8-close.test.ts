import { test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';
import { closePayload, MAX_MESSAGE_BYTES, Op, openWs } from './ws.ts';

// Stage 4: text must be UTF-8 (RFC 6455 §8.1: 1007, as soon as it cannot be), messages have a
// limit (1 MiB: 1009), and the closing handshake (§5.5.1, §7.4): the code echoed, then the
// server closes TCP.
const server = useSubmission();

test('UTF-8 of every length comes back exactly, even a code point split across fragments (RFC 6455 §5.6)', stage(4, 4), async () => {
  await using ws = await openWs(server);
  const text = 'a é € 𝄞 \u{10FFFF} 한국어 🙂';
  await ws.text(text);
  await ws.expectMessage(text);
  const bytes = Buffer.from('κόσμε 🙂');
  // Cut inside the 2-byte ό and inside the 4-byte emoji.
  const cuts = [3, 12, bytes.length];
  let from = 0;
  for (const [i, to] of cuts.entries()) {
    await ws.send(i === 0 ? Op.text : Op.continuation, bytes.subarray(from, to), { fin: i === cuts.length - 1 });
    from = to;
  }
  await ws.expectMessage(bytes, Op.text, 'a text message cut inside code points');
});

test('text that is not UTF-8 closes with 1007: overlong, surrogate, past U+10FFFF, a stray continuation, cut short (RFC 6455 §8.1)', stage(4, 4), async () => {
  const bad: ReadonlyArray<[string, number[]]> = [
    ['an overlong /', [0x2f, 0xc0, 0xaf]],
    ['a surrogate', [0x61, 0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a stray continuation byte', [0x61, 0x80]],
    ['0xff', [0xff]],
    ['a code point cut at the end', [0x61, 0xe2, 0x82]],
  ];
  for (const [why, bytes] of bad) {
    await using ws = await openWs(server);
    await ws.send(Op.text, Buffer.from(bytes));
    await ws.expectClose(1007, `text with ${why}`);
  }
});

test('fail fast: a bad byte in the first fragment closes 1007 before the rest is sent (RFC 6455 §8.1)', stage(4, 3), async () => {
  await using ws = await openWs(server);
  await ws.send(Op.text, Buffer.from([0x68, 0x69, 0xc0, 0xaf, 0x21]), { fin: false });
  // The message has not ended: a server that waits for it to end before checking never closes.
  await ws.expectClose(1007, 'invalid UTF-8 in the first fragment of an unfinished message', 3_000);
});

test(`a message over 1 MiB closes with 1009 as soon as its length says so (RFC 6455 §7.4.1)`, stage(4, 3, { timeout: 30_000 }), async () => {
  {
    await using ws = await openWs(server);
    // Only the head of a 2 MiB frame: the length alone is enough to refuse it.
    const head = Buffer.alloc(14);
    head[0] = 0x82;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(2 * MAX_MESSAGE_BYTES), 2);
    await ws.conn.write(head);
    await ws.expectClose(1009, 'the head of a 2 MiB frame (the limit is 1 MiB)', 3_000);
  }
  {
    await using ws = await openWs(server);
    const fragment = Buffer.alloc(512 * 1024, 0x61);
    await ws.send(Op.text, fragment, { fin: false });
    await ws.send(Op.continuation, fragment, { fin: false });
    await ws.send(Op.continuation, 'x');
    await ws.expectClose(1009, 'three fragments adding up to 1 MiB and one byte');
  }
  await using ws = await openWs(server);
  const exactly = Buffer.alloc(MAX_MESSAGE_BYTES, 0x62);
  await ws.send(Op.binary, exactly);
  await ws.expectMessage(exactly, Op.binary, 'a message of exactly 1 MiB (the limit)', 15_000);
});

test('the closing handshake: the code echoed, an empty close answered empty, then TCP closed (RFC 6455 §5.5.1, §7.1.1)', stage(4, 4), async () => {
  for (const code of [1000, 1001, 3000, 4999]) {
    await using ws = await openWs(server);
    await ws.send(Op.close, closePayload(code, 'bye'));
    await ws.expectClose(code, `a close with code ${code}`);
  }
  {
    await using ws = await openWs(server);
    await ws.send(Op.close);
    await ws.expectClose(undefined, 'an empty close');
  }
  // A client that vanishes without a close leaves the server serving the next one.
  {
    const ws = await openWs(server);
    await ws.send(Op.text, 'half a message', { fin: false });
    ws.conn.reset();
  }
  await using ws = await openWs(server);
  await ws.text('after an abrupt close');
  await ws.expectMessage('after an abrupt close');
  await server.assertRunning();
});

test('close codes that may not be sent, a 1-byte close body: 1002; a reason that is not UTF-8: 1007 (RFC 6455 §7.4)', stage(4, 2), async () => {
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000]) {
    await using ws = await openWs(server);
    await ws.send(Op.close, closePayload(code));
    await ws.expectClose(1002, `a close with code ${code}, which may not be sent`);
  }
  {
    await using ws = await openWs(server);
    await ws.send(Op.close, Buffer.from([0x03]));
    await ws.expectClose(1002, 'a close body of 1 byte');
  }
  await using ws = await openWs(server);
  await ws.send(Op.close, closePayload(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd])));
  await ws.expectClose(1007, 'a close reason that is not UTF-8');
});
