// Thousands of plain connections at once. They bypass the harness's TcpConnection on purpose:
// a transcript of 5,000 connections says nothing a failure message cannot, and would bury it.
import net from 'node:net';
import type { SubmissionHandle } from 'netkata/harness';

export interface Crowd extends AsyncDisposable {
  readonly sockets: readonly net.Socket[];
  /** How long opening them all took. */
  readonly openMs: number;
}

function open(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`connect failed: ${error.code ?? error.message}`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => {}); // a reset later shows as a missing answer
      resolve(socket);
    });
  });
}

/** Opens `count` connections, `batch` at a time; all of them closed again on dispose. */
export async function openCrowd(server: SubmissionHandle, count: number, batch: number, timeoutMs = 10_000): Promise<Crowd> {
  const { host, port } = server.endpoint;
  const sockets: net.Socket[] = [];
  const close = async () => {
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : (s.once('close', () => resolve()), s.destroy())))));
  };
  const started = performance.now();
  try {
    for (let opened = 0; opened < count; opened += batch) {
      const results = await Promise.allSettled(Array.from({ length: Math.min(batch, count - opened) }, () => open(host, port, timeoutMs)));
      for (const r of results) if (r.status === 'fulfilled') sockets.push(r.value);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw new Error(`opened ${sockets.length} of ${count} connections, then: ${(failed.reason as Error).message}`);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { sockets, openMs: performance.now() - started, [Symbol.asyncDispose]: close };
}

/** Writes `request` and collects bytes until the first \n (the answer line, without it), or fails after `timeoutMs`. */
export function ask(socket: net.Socket, request: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const timer = setTimeout(
      () => finish(new Error(`no answer within ${timeoutMs} ms${received ? `, got ${JSON.stringify(received.slice(0, 40))}` : ''}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const newline = received.indexOf('\n');
      if (newline >= 0) finish(undefined, received.slice(0, newline).replace(/\r$/, ''));
    };
    const onEnd = () => finish(new Error(`the server closed the connection${received ? ` after ${JSON.stringify(received.slice(0, 40))}` : ''}`));
    function finish(error: Error | undefined, line?: string) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (error) reject(error);
      else resolve(line!);
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.write(request);
  });
}
