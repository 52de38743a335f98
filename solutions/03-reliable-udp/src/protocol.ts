// The wire format of README.md: a type byte, a big-endian u32 transfer id, then per type.
export const Type = { GET: 0x01, DATA: 0x02, ACK: 0x03, FIN: 0x04, ERROR: 0x05 } as const;

/** Payload bytes in every DATA segment but the last. */
export const SEGMENT_BYTES = 1_200;

export type ClientMessage =
  | { readonly type: 'get'; readonly id: number; readonly name: string }
  | { readonly type: 'ack'; readonly id: number; readonly ack: number; readonly sack: number };

/** undefined for anything that is not a well-formed GET or ACK: such datagrams are ignored. */
export function parseClientMessage(datagram: Buffer): ClientMessage | undefined {
  if (datagram.length < 5) return undefined;
  const id = datagram.readUInt32BE(1);
  if (datagram[0] === Type.GET) return { type: 'get', id, name: datagram.subarray(5).toString('utf8') };
  if (datagram[0] === Type.ACK && datagram.length >= 13) {
    return { type: 'ack', id, ack: datagram.readUInt32BE(5), sack: datagram.readUInt32BE(9) };
  }
  return undefined;
}

export function dataMessage(id: number, seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header[0] = Type.DATA;
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(seq, 5);
  return Buffer.concat([header, payload]);
}

export function finMessage(id: number, total: number, digest: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header[0] = Type.FIN;
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(total, 5);
  return Buffer.concat([header, digest]);
}

export function errorMessage(id: number, message: string): Buffer {
  const header = Buffer.alloc(5);
  header[0] = Type.ERROR;
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, Buffer.from(message, 'utf8')]);
}
