// A client that reads a STREAM at full speed on its own thread. Round trips measured on the
// test's thread then time the server's fairness, not the test's own loop, which would
// otherwise be busy with hundreds of MiB/s of stream (on two shared cores that alone put
// tens of milliseconds into the round trips).
import { Worker } from 'node:worker_threads';
import type { SubmissionHandle } from 'netkata/harness';

export interface StreamReader {
  /** Stream bytes received so far. */
  received(): number;
  /** What went wrong so far: a byte off the pattern, a reset, an early close. */
  problem(): string | undefined;
  /** Hangs up (mid-stream) and ends the thread. */
  stop(): Promise<void>;
}

// Plain JavaScript for the worker (eval'd): connect, ask for the stream, check every byte
// against the pattern with memcmp-speed compares, publish the count through shared memory.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { host, port, bytes, shared } = workerData;
const count = new Float64Array(shared);
const PERIOD = 251, REF = 1 << 20;
const reference = Buffer.alloc(PERIOD + REF);
for (let i = 0; i < reference.length; i++) reference[i] = i % PERIOD;
let received = 0, problem;
const report = (text) => { if (!problem) { problem = text; parentPort.postMessage({ problem }); } };
const socket = net.connect({ host, port, noDelay: true }, () => socket.write('STREAM ' + bytes + '\\n'));
socket.on('data', (chunk) => {
  for (let start = 0; start < chunk.length && !problem; start += REF) {
    const piece = chunk.subarray(start, start + REF);
    const phase = (received + start) % PERIOD;
    if (!piece.equals(reference.subarray(phase, phase + piece.length))) {
      let i = 0;
      while (piece[i] === reference[phase + i]) i++;
      report('byte ' + (received + start + i) + ' of the stream is ' + piece[i] + ', expected ' + ((received + start + i) % PERIOD));
    }
  }
  received += chunk.length;
  count[0] = received;
});
socket.on('error', (error) => report('the stream connection failed: ' + (error.code || error.message)));
socket.on('end', () => { if (received < bytes) report('the server closed the stream after ' + received + ' bytes'); });
parentPort.on('message', () => { socket.destroy(); parentPort.close(); });
`;

/** Opens a connection on a thread of its own, sends `STREAM <bytes>`, and reads as fast as it can. */
export function startStreamReader(endpoint: SubmissionHandle['endpoint'], bytes: number): StreamReader {
  const shared = new SharedArrayBuffer(8);
  const count = new Float64Array(shared);
  let problem: string | undefined;
  const worker = new Worker(SOURCE, { eval: true, workerData: { host: endpoint.host, port: endpoint.port, bytes, shared } });
  worker.on('message', (message: { problem?: string }) => (problem ??= message.problem));
  worker.on('error', (error) => (problem ??= `the stream reader failed: ${error.message}`));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    received: () => count[0]!,
    problem: () => problem,
    async stop() {
      worker.postMessage('stop');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      await worker.terminate();
    },
  };
}
