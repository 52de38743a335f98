// The framing protocol from the test side: encode requests, read whole response frames.
import { expect } from 'vitest';
import type { TcpConnection } from 'netkata/harness';

export const MAX_LENGTH = 16 * 1024 * 1024;
export const Type = { SUM: 0x01, ECHO: 0x02, SHA256: 0x03, SUM_OK: 0x81, ECHO_OK: 0x82, SHA256_OK: 0x83, ERROR: 0xff } as const;

export function frame(type: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length + 1, 0);
  out[4] = type;
  out.set(payload, 5);
  return out;
}

export function ints(values: readonly number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeInt32BE(v, i * 4));
  return out;
}

export function sumOf(values: readonly number[]): bigint {
  return values.reduce((sum, v) => sum + BigInt(v), 0n);
}

export interface Frame {
  readonly type: number;
  readonly payload: Buffer;
}

/** Reads one whole response frame: the length, then exactly that many bytes. */
export async function readFrame(client: TcpConnection, timeoutMs = 5_000): Promise<Frame> {
  const length = (await client.read(4, timeoutMs)).readUInt32BE(0);
  expect(length, 'a response frame length (1 to 16 MiB)').toBeGreaterThanOrEqual(1);
  expect(length).toBeLessThanOrEqual(MAX_LENGTH);
  const body = await client.read(length, timeoutMs);
  return { type: body[0]!, payload: body.subarray(1) };
}

export function describeType(type: number): string {
  return `0x${type.toString(16).padStart(2, '0')}`;
}

/** Expects a SUM answer with exactly `expected`. */
export function expectSum(response: Frame, expected: bigint, what = 'SUM'): void {
  expect(describeType(response.type), `${what}: response type`).toBe(describeType(Type.SUM_OK));
  expect(response.payload.length, `${what}: a 0x81 payload is 8 bytes (signed 64-bit)`).toBe(8);
  expect(response.payload.readBigInt64BE(0), what).toBe(expected);
}

export function expectError(response: Frame, what: string): void {
  expect(describeType(response.type), `${what}: expected an error frame (0xff)`).toBe(describeType(Type.ERROR));
  expect(response.payload.length, `${what}: an error frame carries a message`).toBeGreaterThan(0);
}

/**
 * A small round trip before a long test, so a server that answers nothing fails in seconds,
 * not after the long test's timeout.
 */
export async function expectAlive(client: TcpConnection, timeoutMs = 5_000): Promise<void> {
  await client.write(frame(Type.ECHO, Buffer.from('alive?')));
  const response = await readFrame(client, timeoutMs);
  expect(`${describeType(response.type)} ${response.payload.toString()}`, 'answer to a first small ECHO').toBe('0x82 alive?');
}
