// Shared by the load-balancer suite: the grader's backend fleet (peer containers running
// backend.cjs), their control endpoint (with a secret per backend), and an HTTP client for the proxy.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach } from 'vitest';
import {
  CONTROL_SECRET_ENV,
  controlHeaders,
  InfrastructureError,
  newControlSecret,
  usePeer,
  useSubmission,
  type PeerHandle,
  type SubmissionHandle,
} from 'netkata/harness';

export const BACKEND_PORT = 8080;
const BACKEND_SCRIPT = readFileSync(new URL('./backend.cjs', import.meta.url));

/** The tests' settings: checks every 200 ms, so a window is short. */
export const HEALTH_INTERVAL_MS = 200;
export const RESPONSE_TIMEOUT_MS = 1_000;
/**
 * How long after a backend breaks the proxy must have taken it out: 2 failed checks, each up to
 * 1 s (the README's check timeout) plus the interval, and 0.6 s to spare: 3 s.
 */
export const DOWN_WINDOW_MS = 3_000;
/** Back in after 2 passing checks: 2 intervals plus slack for a check in progress (1 s). */
export const UP_WINDOW_MS = 1_500;

export interface Fleet {
  readonly server: SubmissionHandle;
  readonly backends: readonly PeerHandle[];
}

/**
 * Three backends (backend-1..3), then the proxy over them: call at the top of a test file. `env`
 * is the proxy's; a HEALTH_PATH in it is the backends' health path too.
 */
export function useFleet(env: Record<string, string> = {}, count = 3): Fleet {
  const backends = Array.from({ length: count }, (_, i) => {
    const secret = newControlSecret();
    const backend = usePeer({
      name: `backend-${i + 1}`,
      command: ['node', '/srv/peer/backend.cjs'],
      files: { 'backend.cjs': BACKEND_SCRIPT },
      env: {
        BACKEND_NAME: `backend-${i + 1}`,
        PORT: String(BACKEND_PORT),
        [CONTROL_SECRET_ENV]: secret,
        ...(env.HEALTH_PATH ? { HEALTH_PATH: env.HEALTH_PATH } : {}),
      },
      readyPort: BACKEND_PORT,
    });
    secrets.set(backend, secret);
    return backend;
  });
  const server = useSubmission({
    env: {
      BACKENDS: backends.map((b) => `http://${b.name}:${BACKEND_PORT}`).join(','),
      HEALTH_INTERVAL_MS: String(HEALTH_INTERVAL_MS),
      RESPONSE_TIMEOUT_MS: String(RESPONSE_TIMEOUT_MS),
      ...env,
    },
  });
  const fleet = { server, backends };
  // Every test starts from the same fleet, whatever the one before did to it and whether it got
  // as far as undoing it: running, unpaused, its links healed and clean, answering normally, its
  // logs empty. Registered before the file's own hooks, so it runs first. A fleet that cannot be
  // restored is the grader's failure (InfrastructureError), not the test's.
  beforeEach(async () => {
    const restored = await Promise.all(backends.map((b) => b.restore()));
    try {
      await Promise.all(backends.map((b) => setMode(b, 'ok')));
      // One brought back is down in the proxy's eyes until it passes 2 checks: give the proxy
      // that long, without judging it (that is the tests' to do), then start with empty logs.
      if (restored.some(Boolean)) await fleetWhole(fleet, FLEET_RESTORE_MS);
      await clearBackends(backends);
    } catch (error) {
      throw new InfrastructureError(`could not restore the backend fleet before the test: ${(error as Error).message}`, { cause: error });
    }
  }, 60_000);
  return fleet;
}

/** How long a test's set-up waits for the proxy to see a restored backend again: 2 checks and slack. */
const FLEET_RESTORE_MS = 3_000;

export interface LoggedRequest {
  id: string | null;
  method: string;
  url: string;
  atMs: number;
  health: boolean;
  bodyBytes?: number;
}

export interface BackendLog {
  name: string;
  mode: string;
  connections: number;
  /** Connections that carried a request other than a health check. */
  proxiedConnections: number;
  requests: LoggedRequest[];
}

/** Each backend's control secret, by handle: only these tests know them. */
const secrets = new WeakMap<PeerHandle, string>();

/**
 * A call to a backend's control endpoint, straight to its container (or its edge slot), never
 * through the proxy: the secret must never pass the submission.
 */
function control<T>(backend: PeerHandle, method: string, path: string): Promise<T> {
  const { host, port } = backend.endpoint(BACKEND_PORT);
  const secret = secrets.get(backend);
  if (!secret) return Promise.reject(new Error(`${backend.name} is not a backend of useFleet()`));
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, headers: controlHeaders(secret), agent: false, timeout: 3_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        // The control endpoint's answers name the backend; an echo (`server`) or a 500 means the
        // request was not taken for a control request.
        let answer: { name?: unknown } | undefined;
        try {
          answer = JSON.parse(text) as { name?: unknown };
        } catch {}
        if (res.statusCode !== 200 || answer?.name !== backend.name) {
          return reject(new Error(`${backend.name} ${method} ${path}: not a control answer (HTTP ${res.statusCode}): ${text.slice(0, 200)}`));
        }
        resolve(answer as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${backend.name}${path}: no answer within 3 s`)));
    req.on('error', reject);
    req.end();
  });
}

export type Mode = 'ok' | 'fail' | 'hang' | 'slow' | 'reset';
export const setMode = (backend: PeerHandle, mode: Mode, delayMs = 0) => control(backend, 'POST', `/_control/mode?set=${mode}&delayMs=${delayMs}`);
export const backendLog = (backend: PeerHandle) => control<BackendLog>(backend, 'GET', '/_control/log');
export const clearBackends = (backends: readonly PeerHandle[]) => Promise.all(backends.map((b) => control(b, 'POST', '/_control/clear')));
export const logs = (backends: readonly PeerHandle[]) => Promise.all(backends.map(backendLog));

/** How many requests each backend logged with one of these ids (health checks never carry one). */
export function countIds(all: readonly BackendLog[], ids: ReadonlySet<string>): Record<string, number> {
  return Object.fromEntries(all.map((log) => [log.name, log.requests.filter((r) => r.id !== null && ids.has(r.id)).length]));
}

export interface ProxyResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** X-Served-By, or '' when the proxy answered itself. */
  servedBy: string;
  id: string;
  durationMs: number;
  /** The client's address as the proxy saw it, for X-Forwarded-For. */
  localAddress: string;
  /** A transport error instead of a response (reset, timeout). */
  error?: string;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: http.OutgoingHttpHeaders;
  /** A stream is piped, so a test can pace an upload. */
  body?: string | Buffer | Readable;
  agent?: http.Agent | false;
  timeoutMs?: number;
  /** A response body kept whole in the test; past this the proxy is flooding (default 16 MiB). */
  maxBodyBytes?: number;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** One request through the proxy; never throws: a transport failure is a response with `error`. */
export function request(server: SubmissionHandle, options: RequestOptions = {}): Promise<ProxyResponse> {
  const id = randomUUID();
  const started = performance.now();
  const { host, port } = server.endpoint;
  return new Promise((resolve) => {
    let localAddress = '';
    const done = (partial: Partial<ProxyResponse>) =>
      resolve({ status: 0, headers: {}, body: Buffer.alloc(0), servedBy: '', id, localAddress, durationMs: performance.now() - started, ...partial });
    const req = http.request(
      {
        host,
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: { 'x-request-id': id, ...options.headers },
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bodyBytes = 0;
        const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
        res.on('data', (chunk: Buffer) => {
          bodyBytes += chunk.length;
          // A proxy that sends without end fails this request; it cannot run the test out of memory.
          if (bodyBytes > maxBodyBytes)
            return req.destroy(new Error(`the proxy sent a body of more than ${maxBodyBytes} bytes for a request whose response is far smaller`));
          chunks.push(chunk);
        });
        res.on('end', () =>
          done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), servedBy: String(res.headers['x-served-by'] ?? '') }),
        );
        res.on('error', (error) => done({ error: error.message }));
      },
    );
    req.on('socket', (socket) => {
      if (socket.connecting) socket.once('connect', () => (localAddress = socket.localAddress ?? ''));
      else localAddress = socket.localAddress ?? '';
    });
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (error) => done({ error: error.message }));
    if (options.body instanceof Readable) options.body.pipe(req);
    else req.end(options.body);
  });
}

/** The JSON a backend answers with: what it received. */
export interface Echo {
  server: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyBytes: number;
  bodySha256: string;
}
export const echo = (response: ProxyResponse): Echo => JSON.parse(response.body.toString('utf8')) as Echo;

/** Runs `count` requests, at most `concurrency` at once. */
export async function many(count: number, concurrency: number, one: (n: number) => Promise<ProxyResponse>): Promise<ProxyResponse[]> {
  const results = new Array<ProxyResponse>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const n = next++;
        results[n] = await one(n);
      }
    }),
  );
  return results;
}

/** Responses per backend name ('' for the proxy's own answers). */
export function tally(responses: readonly ProxyResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of responses) counts[r.servedBy] = (counts[r.servedBy] ?? 0) + 1;
  return counts;
}

/** A line per failed response, for assertion messages. */
export const describeFailures = (responses: readonly ProxyResponse[]) =>
  responses
    .filter((r) => r.status !== 200)
    .map((r) => `${r.error ?? `HTTP ${r.status}`} after ${Math.round(r.durationMs)} ms: ${r.body.toString('utf8', 0, 120).trim()}`)
    .join('\n');

/** Polls until `ready` holds or timeoutMs passes; returns whether it held. */
export async function eventually(ready: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await ready()) return true;
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/**
 * Waits until a round of `3 × backends` GETs all succeed and reach every backend: the fleet is
 * whole again in the proxy's eyes (after a restart, unpause or heal). False if not within timeoutMs.
 */
export function fleetWhole(fleet: Fleet, timeoutMs: number): Promise<boolean> {
  return eventually(
    async () => {
      const round = await many(fleet.backends.length * 3, 1, () => request(fleet.server, { path: '/whole', timeoutMs: 3_000 }));
      const served = tally(round);
      return round.every((r) => r.status === 200) && fleet.backends.every((b) => (served[b.name] ?? 0) > 0);
    },
    timeoutMs,
    200,
  );
}
