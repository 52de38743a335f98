import { expect, test } from 'vitest';
import { pieceSizes, randomBytes, stage, useSubmission } from 'netkata/harness';
import { encodeFrame, Op, openWs } from './ws.ts';

// Stage 2: base framing (RFC 6455 §5.2): 7-, 16- and 64-bit lengths, masking, reserved bits and
// opcodes, and frames cut anywhere by TCP.
const server = useSubmission();

test('messages of 0, 1, 125, 126, 127, 65,535, 65,536 and 1,000,000 bytes come back exactly (RFC 6455 §5.2)', stage(2, 6, { timeout: 60_000 }), async () => {
  await using ws = await openWs(server);
  for (const [i, size] of [0, 1, 125, 126, 127, 65_535, 65_536, 1_000_000].entries()) {
    const data = randomBytes(size, 20 + i);
    await ws.send(Op.binary, data);
    await ws.expectMessage(data, Op.binary, `the echo of ${size} bytes`, 15_000);
  }
  const text = 'ünïcödé ✓ '.repeat(7_000);
  await ws.text(text);
  await ws.expectMessage(text, Op.text, `the echo of ${Buffer.byteLength(text)} bytes of text`, 15_000);
});

test('frames cut at every byte, in random pieces, and 100 in one write (RFC 6455 §5.2)', stage(2, 4, { timeout: 60_000 }), async () => {
  await using ws = await openWs(server);
  const frame = encodeFrame(Op.text, 'one byte at a time, with a 16-bit length '.repeat(5));
  await ws.conn.writeInPieces(frame, new Array(frame.length).fill(1));
  await ws.expectMessage('one byte at a time, with a 16-bit length '.repeat(5));
  const big = randomBytes(70_000, 7);
  const bigFrame = encodeFrame(Op.binary, big);
  await ws.conn.writeInPieces(bigFrame, pieceSizes(bigFrame.length, 1, 3_000, 8));
  await ws.expectMessage(big, Op.binary, 'a 64-bit-length frame in random pieces');
  const many = Array.from({ length: 100 }, (_, i) => `message ${i}`);
  await ws.conn.write(Buffer.concat(many.map((m) => encodeFrame(Op.text, m))));
  for (const m of many) await ws.expectMessage(m, Op.text, `"${m}" of 100 sent in one write`);
});

test('an unmasked client frame: close 1002, then TCP closed (RFC 6455 §5.1)', stage(2, 4), async () => {
  await using ws = await openWs(server);
  await ws.send(Op.text, 'not masked', { masked: false });
  await ws.expectClose(1002, 'an unmasked frame from the client');
});

test('reserved bits and reserved opcodes: close 1002 (RFC 6455 §5.2)', stage(2, 4), async () => {
  for (const rsv of [4, 2, 1]) {
    await using ws = await openWs(server);
    await ws.send(Op.text, 'reserved bits', { rsv });
    await ws.expectClose(1002, `RSV${rsv === 4 ? 1 : rsv === 2 ? 2 : 3} set with no extension agreed`);
  }
  for (const opcode of [3, 7, 11, 15]) {
    await using ws = await openWs(server);
    await ws.send(opcode, 'reserved opcode');
    await ws.expectClose(1002, `opcode ${opcode} (reserved)`);
  }
});

test('every byte value survives a binary message, and the connection goes on after (RFC 6455 §5.6)', stage(2, 2), async () => {
  await using ws = await openWs(server);
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  await ws.send(Op.binary, all);
  await ws.expectMessage(all, Op.binary);
  await ws.text('still here');
  await ws.expectMessage('still here');
  expect(ws.controls, 'no control frames from the server without a ping').toEqual([]);
});
