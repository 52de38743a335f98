import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, parseClientMessage } from './protocol.ts';
import { GIVE_UP_MS, Transfer, type TransferEvents } from './transfer.ts';

/** Why a GET gets ERROR instead of data; the message goes to the client. */
export class RefusedError extends Error {}

/**
 * The file a GET may read: a plain name inside the folder, never a path. Checking the name
 * first and the resolved path second also stops a symbolic link pointing out of the folder.
 */
export async function resolveFile(filesDir: string, name: string): Promise<string> {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) throw new RefusedError(`bad name: ${JSON.stringify(name)}`);
  const root = await realpath(filesDir);
  const file = await realpath(path.join(root, name)).catch(() => {
    throw new RefusedError(`no such file: ${name}`);
  });
  if (path.dirname(file) !== root) throw new RefusedError(`bad name: ${JSON.stringify(name)}`);
  if (!(await stat(file)).isFile()) throw new RefusedError(`not a file: ${name}`);
  return file;
}

export interface FileServerOptions {
  readonly port: number;
  readonly filesDir: string;
  /** Variants of the protocol's sending side plug in here. */
  readonly createTransfer?: (id: number, content: Buffer, digest: Buffer, events: TransferEvents) => Transfer;
  readonly resolveFile?: (filesDir: string, name: string) => Promise<string>;
}

export interface FileServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startFileServer(options: FileServerOptions): Promise<FileServer> {
  const createTransfer = options.createTransfer ?? ((...args) => new Transfer(...args));
  const resolve = options.resolveFile ?? resolveFile;
  const socket = dgram.createSocket('udp4');
  // Transfers by client address and id: ids are the client's, so two clients may both use 1.
  // `null` marks one whose file is still being read, so a repeated GET does not start it twice.
  const transfers = new Map<string, Transfer | null>();

  socket.on('message', (datagram, from) => {
    const message = parseClientMessage(datagram);
    if (!message) return; // not ours: a datagram we cannot parse gets no answer
    const key = `${from.address}:${from.port}/${message.id}`;
    const send = (bytes: Buffer) => socket.send(bytes, from.port, from.address);
    if (message.type === 'ack') {
      transfers.get(key)?.onAck(message.ack, message.sack);
      return;
    }
    // A GET for a transfer in progress, or finished moments ago, is a duplicate from the network.
    if (transfers.has(key)) return;
    transfers.set(key, null);
    void (async () => {
      let content: Buffer;
      try {
        content = await readFile(await resolve(options.filesDir, message.name));
      } catch (error) {
        transfers.delete(key); // a repeated GET gets the ERROR again
        send(errorMessage(message.id, error instanceof RefusedError ? error.message : 'cannot read the file'));
        return;
      }
      const digest = createHash('sha256').update(content).digest();
      const transfer = createTransfer(message.id, content, digest, {
        send,
        finished: (outcome) => {
          if (outcome === 'gave up') transfers.delete(key);
          // Remembered for a while: a late GET is still a duplicate and a late ACK gets the FIN again.
          else setTimeout(() => transfers.delete(key), GIVE_UP_MS).unref();
        },
      });
      transfers.set(key, transfer);
      transfer.start();
    })();
  });

  socket.bind(options.port);
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    async close() {
      for (const transfer of transfers.values()) transfer?.stop();
      await new Promise<void>((done) => socket.close(() => done()));
    },
  };
}
