// Visible tests: run them with `npx netkata test load-balancer` (your src/main.ts and three
// small backends, all on your machine, in a few seconds). The hidden suite that grades you
// goes further, with the grader's own fleet in containers: see README.md.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { stage, useSubmission } from 'netkata/harness';

/** A backend: answers every request with its name and what it received; `fail` makes it 500. */
function startBackend(name: string) {
  const state = { fail: false, requests: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.url !== '/healthz') state.requests++;
      const status = state.fail ? 500 : 200;
      res.writeHead(status, { 'content-type': 'application/json', 'x-served-by': name });
      res.end(JSON.stringify({ server: name, method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  return { name, server, state };
}

const backends = ['one', 'two', 'three'].map(startBackend);
beforeAll(async () => {
  await Promise.all(backends.map((b) => new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', resolve))));
});
afterAll(() => {
  for (const b of backends) b.server.close();
});

// A function: evaluated when the proxy starts, after beforeAll gave the backends their ports.
const server = useSubmission({
  env: () => ({
    BACKENDS: backends.map((b) => `http://127.0.0.1:${(b.server.address() as AddressInfo).port}`).join(','),
    HEALTH_INTERVAL_MS: '100',
  }),
});

function send(options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; servedBy: string; json: Record<string, unknown> }>((resolve, reject) => {
    const req = http.request(
      { ...server.endpoint, method: options.method ?? 'GET', path: options.path ?? '/', headers: options.headers, agent: false },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, servedBy: String(res.headers['x-served-by'] ?? ''), json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

test('a POST reaches a backend with its path, query, headers and body, plus X-Forwarded-For', stage(1, 1), async () => {
  const response = await send({ method: 'POST', path: '/orders?id=7', headers: { 'x-custom': 'yes' }, body: 'hello' });
  expect(response.status).toBe(200);
  expect(response.json).toMatchObject({ method: 'POST', url: '/orders?id=7', body: 'hello' });
  const headers = response.json.headers as Record<string, string>;
  expect(headers['x-custom']).toBe('yes');
  expect(headers['x-forwarded-for']).toBe('127.0.0.1');
});

test('round-robin: 9 requests, 3 to each backend', stage(1, 1), async () => {
  const served: Record<string, number> = {};
  for (let i = 0; i < 9; i++) {
    const { servedBy } = await send({ path: `/rr/${i}` });
    served[servedBy] = (served[servedBy] ?? 0) + 1;
  }
  expect(served).toEqual({ one: 3, two: 3, three: 3 });
});

test('a failing backend is taken out by the health checks; all failing is 503', stage(3, 1), async () => {
  backends[1]!.state.fail = true;
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // 2 failed checks, 100 ms apart, and slack
  for (let i = 0; i < 6; i++) expect((await send({ path: '/healthy-only' })).servedBy).not.toBe('two');
  for (const b of backends) b.state.fail = true;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect((await send({ path: '/none' })).status).toBe(503);
  for (const b of backends) b.state.fail = false;
});
