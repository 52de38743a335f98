import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { expect, test } from 'vitest';
import { stage, type SubmissionHandle } from 'netkata/harness';
import { logs, useFleet } from './lb.ts';

// Stage 2: 100 MiB each way through a proxy held to the manifest's 128 MiB (no swap). Measured:
// the bundled reference holds 37-49 MiB and peaks at 50-52 MiB during these transfers (see the
// measurements); a proxy that collects a whole body needs 200 MiB or more and is OOM-killed.
// The response clock is set far out: this stage is about streaming, and stage 3 tests the clock.
const { server, backends } = useFleet({ RESPONSE_TIMEOUT_MS: '30000' });

const MiB = 1024 * 1024;
const SIZE_BYTES = 100 * MiB;
const PATTERN = Buffer.alloc(65_536).map((_, i) => (i * 7 + 3) & 0xff);

/** The SHA-256 of the first n bytes of the backend's pattern. */
function patternSha256(n: number): string {
  const hash = createHash('sha256');
  for (let sent = 0; sent < n; sent += PATTERN.length) hash.update(PATTERN.subarray(0, Math.min(PATTERN.length, n - sent)));
  return hash.digest('hex');
}

/** Streams a response, hashing it: the test never holds the body either. */
function download(target: SubmissionHandle, path: string): Promise<{ status: number; bytes: number; sha256: string; headers: http.IncomingHttpHeaders }> {
  const { host, port } = target.endpoint;
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex'), headers: res.headers }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no byte for 30 s')));
    req.on('error', (error) => reject(new Error(`GET ${path}: ${error.message}, the proxy's connection broke (OOM-killed for holding the body?)`)));
  });
}

async function memory(task: { meta: { measurements?: Record<string, number> } }, extra: Record<string, number>): Promise<void> {
  await server.assertRunning();
  const stats = await server.processStats();
  task.meta.measurements = {
    ...extra,
    memoryMiB: Math.round(stats.memoryBytes / MiB),
    ...(stats.peakMemoryBytes ? { peakMemoryMiB: Math.round(stats.peakMemoryBytes / MiB) } : {}),
  };
}

test('a 100 MiB download with Content-Length streams through in 128 MiB', stage(2, 4, { timeout: 60_000 }), async ({ task }) => {
  const started = performance.now();
  const got = await download(server, `/bytes/${SIZE_BYTES}`);
  const seconds = (performance.now() - started) / 1_000;
  expect(got.status).toBe(200);
  expect(got.bytes, 'bytes received').toBe(SIZE_BYTES);
  expect(got.sha256, 'the SHA-256 of the body').toBe(patternSha256(SIZE_BYTES));
  await memory(task, { MiBPerSecond: Math.round(100 / seconds) });
});

test('a 100 MiB chunked download streams through in 128 MiB', stage(2, 4, { timeout: 60_000 }), async ({ task }) => {
  const got = await download(server, `/bytes/${SIZE_BYTES}?chunked`);
  expect(got.status).toBe(200);
  expect(got.bytes, 'bytes received').toBe(SIZE_BYTES);
  expect(got.sha256, 'the SHA-256 of the body').toBe(patternSha256(SIZE_BYTES));
  await memory(task, {});
});

/** Sends pseudo-random blocks, chunked, and checks what the backend received. */
async function upload(method: 'POST' | 'PUT', sizeBytes: number, task: { meta: { measurements?: Record<string, number> } }): Promise<void> {
  const { host, port } = server.endpoint;
  const hash = createHash('sha256');
  let produced = 0;
  // A body generated as it is sent, chunked (no Content-Length).
  const block = Buffer.alloc(64 * 1024);
  const body = new Readable({
    read() {
      if (produced >= sizeBytes) return void this.push(null);
      for (let i = 0; i < block.length; i += 4) block.writeUInt32LE(((produced + i) * 2_654_435_761) >>> 0, i);
      produced += block.length;
      hash.update(block);
      this.push(Buffer.from(block));
    },
  });
  // What the proxy answered, if anything, before the body was through: the reason an upload breaks.
  let early: { status: number; text: string } | undefined;
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request({ host, port, method, path: '/sink', agent: false, headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      const got = { status: res.statusCode ?? 0, text: '' };
      early = got;
      res.setEncoding('utf8');
      // The upload's answer is a short JSON: keep 64 KiB of it at most, whatever the proxy sends.
      res.on('data', (chunk: string) => (got.text = (got.text + chunk).slice(0, 64 * 1024)));
      res.on('end', () => resolve(got));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no progress for 30 s')));
    req.on('error', (error) => {
      const answered = early
        ? `the proxy answered ${early.status} ${JSON.stringify(early.text.slice(0, 200))} and closed`
        : "the proxy's connection broke (OOM-killed for holding the body?)";
      // Never rejects: a failure to read the logs is part of the message.
      void logs(backends)
        .then(
          (all) =>
            all
              .map(
                (log) =>
                  `${log.name}: ${
                    log.requests
                      .filter((r) => r.url === '/sink')
                      .map((r) => `${r.bodyBytes ?? 'unfinished'} bytes`)
                      .join(', ') || 'no upload'
                  }`,
              )
              .join('; '),
          (failure: Error) => `backend logs unavailable: ${failure.message}`,
        )
        .then((seen) => reject(new Error(`${method} /sink: ${error.message} after ${produced} bytes: ${answered} (backends saw ${seen})`)));
    });
    body.pipe(req);
  });
  expect(answer.status, answer.text).toBe(200);
  const seen = JSON.parse(answer.text) as { bodyBytes: number; bodySha256: string };
  expect(seen.bodyBytes, 'bytes the backend received').toBe(sizeBytes);
  expect(seen.bodySha256, 'the SHA-256 of what the backend received').toBe(hash.digest('hex'));
  await memory(task, {});
}

test('a 100 MiB chunked upload streams through in 128 MiB', stage(2, 4, { timeout: 60_000 }), async ({ task }) => {
  await upload('POST', SIZE_BYTES, task);
});

// A PUT may be retried, so a proxy keeps a copy of its body; 160 MiB, more than the memory limit,
// shows whether the copy stops at 1 MiB. (A proxy keeping all of a 100 MiB one measured 117 MiB
// and lived.)
test('a 160 MiB PUT streams through in 128 MiB: a copy kept for a retry stops at 1 MiB', stage(2, 3, { timeout: 60_000 }), async ({ task }) => {
  await upload('PUT', 160 * MiB, task);
});
