import { expect, test } from 'vitest';
import { randomBytes, stage, useSubmission } from 'netkata/harness';
import { encodeFrame, Op, openWs } from './ws.ts';

// Stage 3: fragmentation (RFC 6455 §5.4) and control frames (§5.5): pings answered with the
// same payload, pongs ignored, control frames between fragments, and what may not be.
const server = useSubmission();

test('a text message in 3 fragments and a binary one in 10 come back whole (RFC 6455 §5.4)', stage(3, 4), async () => {
  await using ws = await openWs(server);
  await ws.send(Op.text, 'frag', { fin: false });
  await ws.send(Op.continuation, 'men', { fin: false });
  await ws.send(Op.continuation, 'ted');
  await ws.expectMessage('fragmented', Op.text, 'a text message in 3 fragments');
  const data = randomBytes(10_000, 31);
  for (let i = 0; i < 10; i++) await ws.send(i === 0 ? Op.binary : Op.continuation, data.subarray(i * 1_000, (i + 1) * 1_000), { fin: i === 9 });
  await ws.expectMessage(data, Op.binary, 'a binary message in 10 fragments');
  // An empty fragment is a fragment like any other.
  await ws.send(Op.text, 'a', { fin: false });
  await ws.send(Op.continuation, '', { fin: false });
  await ws.send(Op.continuation, 'b');
  await ws.expectMessage('ab', Op.text, 'fragments, one of them empty');
});

test('a ping is answered with a pong of the same payload; an unsolicited pong changes nothing (RFC 6455 §5.5.2, §5.5.3)', stage(3, 4), async () => {
  await using ws = await openWs(server);
  for (const payload of [Buffer.alloc(0), Buffer.from('ping!'), randomBytes(125, 32)]) {
    await ws.send(Op.ping, payload);
    const pong = await ws.readFrame();
    expect(pong.opcode, `the answer to a ping of ${payload.length} bytes is a pong`).toBe(Op.pong);
    expect(pong.payload.equals(payload), `the pong carries the ping's ${payload.length} bytes`).toBe(true);
  }
  await ws.send(Op.pong, 'nobody asked');
  await ws.text('after the pong');
  await ws.expectMessage('after the pong', Op.text, 'the echo after an unsolicited pong (which gets no answer)');
});

test('a ping between two fragments is answered at once, and the message still comes back whole (RFC 6455 §5.4)', stage(3, 4), async () => {
  await using ws = await openWs(server);
  await ws.send(Op.text, 'first half, ', { fin: false });
  await ws.send(Op.ping, 'in between');
  // The pong must not wait for the message to end.
  const pong = await ws.readFrame();
  expect([pong.opcode, pong.payload.toString()], 'a pong for the ping sent between fragments, before the message ends').toEqual([Op.pong, 'in between']);
  await ws.send(Op.continuation, 'second half');
  await ws.expectMessage('first half, second half', Op.text, 'the message around the ping');
  // Two pings and a message in one write: answered in order.
  await ws.conn.write(Buffer.concat([encodeFrame(Op.ping, '1'), encodeFrame(Op.ping, '2'), encodeFrame(Op.text, 'three')]));
  await ws.expectMessage('three', Op.text, 'the message after two pings');
  expect(
    ws.controls.map((f) => [f.opcode, f.payload.toString()]),
    'the pongs before it, in order',
  ).toEqual([
    [Op.pong, '1'],
    [Op.pong, '2'],
  ]);
});

test('a control frame over 125 bytes, or fragmented: close 1002 (RFC 6455 §5.5)', stage(3, 4), async () => {
  {
    await using ws = await openWs(server);
    await ws.send(Op.ping, randomBytes(126, 33));
    await ws.expectClose(1002, 'a ping of 126 bytes');
  }
  {
    await using ws = await openWs(server);
    await ws.send(Op.ping, 'part', { fin: false });
    await ws.expectClose(1002, 'a ping with FIN clear');
  }
});

test('a continuation with no message under way, or a new message inside one: close 1002 (RFC 6455 §5.4)', stage(3, 4), async () => {
  {
    await using ws = await openWs(server);
    await ws.send(Op.continuation, 'orphan');
    await ws.expectClose(1002, 'a continuation frame first');
  }
  {
    await using ws = await openWs(server);
    await ws.send(Op.text, 'begun', { fin: false });
    await ws.send(Op.text, 'again');
    await ws.expectClose(1002, 'a text frame while a fragmented message was under way');
  }
});
