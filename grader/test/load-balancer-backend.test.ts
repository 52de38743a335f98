// The load-balancer suite's backend (grader/suites/load-balancer/backend.cjs) as a plain process
// on this machine: its control endpoint obeys the tests' secret only; without it /_control/...
// is a path like any other (echoed, logged, failing with the rest), so a proxy can neither read
// a backend's mode, nor heal it, nor tell the endpoint is there; what it serves carries no secret
// and, for a health check, nothing that tells one mode from another.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { CONTROL_HEADER, CONTROL_SECRET_ENV, newControlSecret } from '../src/peers/control-secret.ts';
import { repoRoot } from '../src/paths.ts';

const SCRIPT = path.join(repoRoot, 'grader', 'suites', 'load-balancer', 'backend.cjs');
const NAME = 'backend-test';
const secret = newControlSecret();
let child: ChildProcess;
let port: number;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json?: Record<string, unknown>;
}

function send(method: string, urlPath: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(json ? { json } : {}) });
      });
    });
    req.setTimeout(3_000, () => req.destroy(new Error(`${method} ${urlPath}: no answer within 3 s`)));
    req.on('error', reject);
    req.end();
  });
}

const authed = (method: string, urlPath: string) => send(method, urlPath, { [CONTROL_HEADER]: secret });
const modeNow = async () => (await authed('GET', '/_control/log')).json?.mode;

beforeAll(async () => {
  child = spawn(process.execPath, [SCRIPT], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BACKEND_NAME: NAME, PORT: '0', [CONTROL_SECRET_ENV]: secret },
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  port = Number(/listening on (\d+)/.exec(line)?.[1]);
  expect(port, line).toBeGreaterThan(0);
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

beforeEach(async () => {
  expect((await authed('POST', '/_control/clear')).json).toEqual({ name: NAME, cleared: true });
});

describe("the backend's control endpoint", () => {
  test('with the secret: mode, log and clear work', async () => {
    expect((await authed('POST', '/_control/mode?set=fail')).json).toEqual({ name: NAME, mode: 'fail', delayMs: 0 });
    expect((await send('GET', '/anything')).status).toBe(500);
    const log = (await authed('GET', '/_control/log')).json!;
    expect(log).toMatchObject({ name: NAME, mode: 'fail' });
    expect((log.requests as Array<{ url: string }>).map((r) => r.url)).toEqual(['/anything']);
    await authed('POST', '/_control/clear');
    expect(await modeNow()).toBe('ok');
    expect((await send('GET', '/anything')).status).toBe(200);
  });

  test('without the secret or with a wrong one, /_control/... is an ordinary path: echoed, logged, no control', async () => {
    const wrong = 'x'.repeat(secret.length);
    const attempts: Array<Record<string, string>> = [{}, { [CONTROL_HEADER]: wrong }, { [CONTROL_HEADER]: '' }, { [CONTROL_HEADER]: secret.slice(0, -1) }];
    for (const headers of attempts) {
      const read = await send('GET', '/_control/log', headers);
      expect(read.status, JSON.stringify(headers)).toBe(200);
      expect(read.json, 'an echo, not the log').toMatchObject({ server: NAME, method: 'GET', url: '/_control/log' });
      expect(read.json).not.toHaveProperty('mode');
      expect(read.json).not.toHaveProperty('requests');
      const set = await send('POST', '/_control/mode?set=fail', headers);
      expect(set.json, 'an echo').toMatchObject({ server: NAME, url: '/_control/mode?set=fail' });
      expect(await modeNow(), 'the mode after an outsider set it').toBe('ok');
    }
    const logged = ((await authed('GET', '/_control/log')).json!.requests as Array<{ url: string }>).map((r) => r.url);
    expect(logged.filter((url) => url.startsWith('/_control/')).length, "outsiders' control paths, logged as requests").toBe(8);
  });

  test('without the secret, clear does not heal a failing backend', async () => {
    await authed('POST', '/_control/mode?set=fail');
    const heal = await send('POST', '/_control/clear');
    expect(heal.status, 'a failing backend fails this path too').toBe(500);
    expect(await modeNow()).toBe('fail');
    expect((await send('GET', '/healthz')).status).toBe(500);
  });

  test('the control header is never echoed, whoever sends it', async () => {
    for (const value of [secret, 'guess']) {
      const echo = await send('GET', '/echo', { [CONTROL_HEADER]: value, 'x-other': 'kept' });
      expect(echo.json?.headers, 'the headers echoed').toMatchObject({ 'x-other': 'kept' });
      expect(echo.json?.headers).not.toHaveProperty(CONTROL_HEADER);
      expect(echo.body).not.toContain(secret);
    }
  });

  test('a health check answers alike in every mode it passes in: nothing tells ok, slow and reset apart', async () => {
    const shape = (a: Answer) => ({
      status: a.status,
      headers: Object.keys(a.headers).sort(),
      keys: Object.keys(a.json ?? {}).sort(),
      servedBy: a.headers['x-served-by'],
    });
    const ok = shape(await send('GET', '/healthz'));
    for (const mode of ['slow', 'reset']) {
      await authed('POST', `/_control/mode?set=${mode}&delayMs=50`);
      expect(shape(await send('GET', '/healthz')), `GET /healthz in mode ${mode}`).toEqual(ok);
    }
  });
});

describe('the backend without a secret', () => {
  test('refuses to start: no secret, or one under 32 characters', async () => {
    for (const value of [undefined, 'short']) {
      const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
      delete env[CONTROL_SECRET_ENV];
      if (value !== undefined) env[CONTROL_SECRET_ENV] = value;
      const started = spawn(process.execPath, [SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'], env });
      let output = '';
      started.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      started.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      // One that starts anyway would serve until killed: give it 5 s.
      const timer = setTimeout(() => started.kill('SIGKILL'), 5_000);
      const [code] = (await once(started, 'close')) as [number | null];
      clearTimeout(timer);
      expect(code, `secret ${value ?? '(none)'}: ${output}`).toBe(2);
      expect(output).toMatch(/NETKATA_CONTROL_SECRET/);
      expect(output).not.toMatch(/listening/);
    }
  });
});
