// The client side of the protocol in the exercise's README, as the hidden tests drive it: it
// checks every datagram the server sends and counts what crossed the wire.
import { createHash } from 'node:crypto';
import { ExpectationError, seededRandom, type UdpSocket } from 'netkata/harness';

export const Type = { GET: 0x01, DATA: 0x02, ACK: 0x03, FIN: 0x04, ERROR: 0x05 } as const;
export const SEGMENT_BYTES = 1_200;

export function get(id: number, name: string): Buffer {
  const header = Buffer.alloc(5);
  header[0] = Type.GET;
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, Buffer.from(name, 'utf8')]);
}

export function ack(id: number, cumulative: number, sack = 0): Buffer {
  const datagram = Buffer.alloc(13);
  datagram[0] = Type.ACK;
  datagram.writeUInt32BE(id, 1);
  datagram.writeUInt32BE(cumulative, 5);
  datagram.writeUInt32BE(sack >>> 0, 9);
  return datagram;
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();

export interface FetchOptions {
  readonly id?: number;
  /** The whole transfer must be over by then. */
  readonly deadlineMs: number;
  /**
   * Drops this share of arriving DATA datagrams before looking at them (seeded), as a lossy
   * link would, but counted exactly: the test knows every loss the server had to repair.
   */
  readonly dropPercent?: number;
  readonly seed?: number;
  /** Drops the first this-many FINs (the server must repeat its FIN). */
  readonly dropFins?: number;
  /** Sends no ACK after this many (a client that goes silent); fetch then returns at the deadline. */
  readonly ackLimit?: number;
  /** After the last ACK, keep answering repeated FINs for this long (our last ACK may be lost). */
  readonly lingerMs?: number;
}

export interface FetchResult {
  readonly data: Buffer;
  readonly total: number;
  readonly digest: Buffer;
  /** GET sent to the moment the file and the FIN were both in. */
  readonly elapsedMs: number;
  /** DATA datagrams that reached the socket, dropped ones included. */
  readonly dataDatagrams: number;
  readonly droppedData: number;
  /** DATA for segments we already had. */
  readonly duplicateData: number;
  readonly fins: number;
  readonly acksSent: number;
  /** When each datagram arrived, relative to the GET (for the silent-client test). */
  readonly lastDatagramAtMs: number;
  readonly lastAckAtMs: number;
  readonly complete: boolean;
}

/**
 * GETs `name` and receives it: one ACK (cumulative plus SACK bitmap) per DATA, the GET repeated
 * every second until the server answers, the ACK repeated when a second passes without a
 * datagram. Fails with what is missing if the transfer does not complete by the deadline.
 */
export async function fetchFile(socket: UdpSocket, name: string, options: FetchOptions): Promise<FetchResult> {
  const id = options.id ?? 1;
  const random = seededRandom(options.seed ?? 1);
  const segments = new Map<number, Buffer>();
  let total: number | undefined;
  let digest: Buffer | undefined;
  let cumulative = 0;
  let answered = false;
  let dataDatagrams = 0;
  let droppedData = 0;
  let duplicateData = 0;
  let fins = 0;
  let acksSent = 0;
  let lastDatagramAtMs = 0;
  let lastAckAtMs = 0;
  let doneAtMs: number | undefined;
  const started = performance.now();
  const since = () => performance.now() - started;
  const fail = (why: string): never => {
    throw new ExpectationError(`transfer ${id} of "${name}": ${why}`);
  };
  const sendAck = async () => {
    if (options.ackLimit !== undefined && acksSent >= options.ackLimit) return;
    let sack = 0;
    for (let bit = 0; bit < 32; bit++) if (segments.has(cumulative + 1 + bit)) sack |= 1 << bit;
    acksSent++;
    lastAckAtMs = since();
    await socket.send(ack(id, cumulative, sack));
  };
  const complete = () => total !== undefined && cumulative === total && digest !== undefined;

  await socket.send(get(id, name));
  while (true) {
    if (doneAtMs !== undefined && since() - doneAtMs >= (options.lingerMs ?? 0)) break;
    const remaining = options.deadlineMs - since();
    if (remaining <= 0) {
      if (options.ackLimit !== undefined && acksSent >= options.ackLimit) break;
      fail(
        `not complete after ${options.deadlineMs} ms: ${segments.size} of ${total ?? 'an unknown number of'} segments in, ` +
          `cumulative ack ${cumulative}, ${digest ? 'FIN received' : 'no FIN received'} (${dataDatagrams} DATA datagrams arrived)`,
      );
    }
    const datagram = await socket.tryReceive(Math.min(remaining, doneAtMs !== undefined ? (options.lingerMs ?? 0) : 1_000));
    if (!datagram) {
      if (doneAtMs !== undefined) continue;
      if (!answered) await socket.send(get(id, name));
      else await sendAck();
      continue;
    }
    lastDatagramAtMs = since();
    if (datagram.length < 5) fail(`the server sent a ${datagram.length}-byte datagram (the shortest message has 5 bytes)`);
    const type = datagram[0]!;
    const gotId = datagram.readUInt32BE(1);
    if (gotId !== id) fail(`the server sent type 0x${type.toString(16)} for transfer id ${gotId}; this transfer's id is ${id}`);
    answered = true;
    if (type === Type.ERROR) fail(`the server answered ERROR "${datagram.subarray(5).toString('utf8')}"`);
    if (type === Type.DATA) {
      dataDatagrams++;
      if (datagram.length < 9) fail(`a DATA datagram of ${datagram.length} bytes has no room for its sequence number`);
      if (options.dropPercent && random() * 100 < options.dropPercent) {
        droppedData++;
        continue;
      }
      const seq = datagram.readUInt32BE(5);
      const payload = Buffer.from(datagram.subarray(9));
      if (payload.length > SEGMENT_BYTES) fail(`DATA ${seq} carries ${payload.length} bytes; at most ${SEGMENT_BYTES} are allowed`);
      if (total !== undefined && seq >= total) fail(`DATA ${seq} is past the end: the FIN said ${total} segments`);
      const before = segments.get(seq);
      if (before) {
        duplicateData++;
        if (!before.equals(payload)) fail(`DATA ${seq} was sent twice with different bytes`);
      } else {
        segments.set(seq, payload);
        while (segments.has(cumulative)) cumulative++;
      }
      await sendAck();
    } else if (type === Type.FIN) {
      fins++;
      if (datagram.length !== 41) fail(`a FIN of ${datagram.length} bytes (it has 41: type, id, total, SHA-256)`);
      if (options.dropFins && fins <= options.dropFins) continue;
      const finTotal = datagram.readUInt32BE(5);
      if (total !== undefined && total !== finTotal) fail(`one FIN said ${total} segments, a later one ${finTotal}`);
      total = finTotal;
      digest = Buffer.from(datagram.subarray(9));
      for (const seq of segments.keys()) if (seq >= total) fail(`DATA ${seq} arrived, but the FIN says there are ${total} segments`);
      await sendAck();
    } else {
      fail(`the server sent a datagram of unknown type 0x${type.toString(16)}`);
    }
    if (doneAtMs === undefined && complete()) doneAtMs = since();
  }

  const finished = complete();
  const data = Buffer.concat(Array.from({ length: cumulative }, (_, seq) => segments.get(seq)!));
  if (finished) {
    for (let seq = 0; seq < total! - 1; seq++) {
      if (segments.get(seq)!.length !== SEGMENT_BYTES)
        fail(`DATA ${seq} carries ${segments.get(seq)!.length} bytes; every segment but the last carries exactly ${SEGMENT_BYTES}`);
    }
    if (total! > 0 && segments.get(total! - 1)!.length === 0)
      fail(`the last segment is empty; a file of ${data.length} bytes has ${Math.ceil(data.length / SEGMENT_BYTES)} segments`);
    if (!sha256(data).equals(digest!))
      fail(`the FIN's SHA-256 ${digest!.toString('hex')} is not that of the ${data.length} bytes received (${sha256(data).toString('hex')})`);
  }
  return {
    data,
    total: total ?? 0,
    digest: digest ?? Buffer.alloc(0),
    elapsedMs: doneAtMs ?? since(),
    dataDatagrams,
    droppedData,
    duplicateData,
    fins,
    acksSent,
    lastDatagramAtMs,
    lastAckAtMs,
    complete: finished,
  };
}

/** Expects ERROR for `name`: no DATA, no FIN. */
export async function expectError(socket: UdpSocket, name: string, id: number, timeoutMs = 3_000): Promise<string> {
  await socket.send(get(id, name));
  const deadline = performance.now() + timeoutMs;
  let resent = false;
  while (true) {
    const datagram = await socket.tryReceive(Math.max(0, Math.min(1_000, deadline - performance.now())));
    if (!datagram) {
      if (performance.now() >= deadline) throw new ExpectationError(`GET "${name}" (id ${id}): expected ERROR within ${timeoutMs} ms; nothing came`);
      if (!resent) await socket.send(get(id, name));
      resent = true;
      continue;
    }
    const type = datagram[0];
    if (datagram.length >= 5 && type === Type.ERROR && datagram.readUInt32BE(1) === id) return datagram.subarray(5).toString('utf8');
    const what = type === Type.DATA ? `DATA (the file was served)` : type === Type.FIN ? 'FIN (the file was served)' : `type 0x${type?.toString(16)}`;
    throw new ExpectationError(`GET ${JSON.stringify(name)} (id ${id}): expected ERROR, got ${what}`);
  }
}
