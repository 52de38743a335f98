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

/** Type, id and, for DATA and FIN, the u32 that follows them (seq or total). */
function header(type: number, id: number, field?: number): Buffer {
  const bytes = Buffer.alloc(field === undefined ? 5 : 9);
  bytes[0] = type;
  bytes.writeUInt32BE(id, 1);
  if (field !== undefined) bytes.writeUInt32BE(field, 5);
  return bytes;
}

export const dataMessage = (id: number, seq: number, payload: Buffer) => Buffer.concat([header(Type.DATA, id, seq), payload]);
export const finMessage = (id: number, total: number, digest: Buffer) => Buffer.concat([header(Type.FIN, id, total), digest]);
export const errorMessage = (id: number, message: string) => Buffer.concat([header(Type.ERROR, id), Buffer.from(message, 'utf8')]);
