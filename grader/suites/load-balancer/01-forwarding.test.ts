import http from 'node:http';
import { beforeEach, expect, test } from 'vitest';
import { stage } from 'netkata/harness';
import { clearBackends, describeFailures, echo, logs, many, request, tally, useFleet } from './lb.ts';

// Stage 1: a healthy fleet of three, round-robin (the default strategy).
const fleet = useFleet();
const { server, backends } = fleet;

beforeEach(async () => {
  await clearBackends(backends);
});

test('method, path, query, headers and body reach a backend; status, headers and body come back', stage(1, 4), async () => {
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    const body = method === 'GET' || method === 'OPTIONS' ? undefined : `a body for ${method} ✓`;
    const response = await request(server, {
      method,
      path: `/items/42?colour=blue&size=${method}`,
      headers: { 'x-custom': `value-${method}`, 'content-type': 'text/plain', ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) },
      body,
    });
    expect(response.error, `${method}: a response`).toBeUndefined();
    expect(response.status, `${method}: the backend's status`).toBe(200);
    expect(response.servedBy, `${method}: the backend's X-Served-By header, passed back`).toMatch(/^backend-\d$/);
    expect(response.headers['content-type'], `${method}: the backend's Content-Type`).toBe('application/json');
    const seen = echo(response);
    expect(seen.method).toBe(method);
    expect(seen.url, `${method}: the path and query as sent`).toBe(`/items/42?colour=blue&size=${method}`);
    expect(seen.headers['x-custom']).toBe(`value-${method}`);
    expect(seen.headers['x-request-id']).toBe(response.id);
    expect(seen.bodyBytes, `${method}: the body's length at the backend`).toBe(body ? Buffer.byteLength(body) : 0);
  }
  const head = await request(server, { method: 'HEAD', path: '/head' });
  expect(head.status).toBe(200);
  expect(head.body.length, 'a HEAD response has no body').toBe(0);
});

test('X-Forwarded-For: the client address is added, after any the client sent', stage(1, 3), async () => {
  const plain = await request(server, { path: '/xff' });
  expect(plain.localAddress).not.toBe('');
  expect(echo(plain).headers['x-forwarded-for'], 'X-Forwarded-For: the address the proxy saw the client at').toBe(server.clientAddressOf(plain.localAddress));
  const chained = await request(server, { path: '/xff', headers: { 'x-forwarded-for': '203.0.113.7' } });
  expect(echo(chained).headers['x-forwarded-for']).toBe(`203.0.113.7, ${server.clientAddressOf(chained.localAddress)}`);
});

test('round-robin: 30 requests in turn, 10 to each backend', stage(1, 4), async () => {
  const responses = await many(30, 1, () => request(server, { path: '/rr' }));
  expect(describeFailures(responses)).toBe('');
  // Strict turns give exactly 10 each; ±1 allows a rotation that skipped once (a late health flip).
  const served = tally(responses);
  for (const b of backends) expect(served[b.name] ?? 0, `requests served by ${b.name} of 30: ${JSON.stringify(served)}`).toBeGreaterThanOrEqual(9);
  for (const b of backends) expect(served[b.name] ?? 0, `requests served by ${b.name} of 30: ${JSON.stringify(served)}`).toBeLessThanOrEqual(11);
});

test('keep-alive with clients: 20 requests over one client connection', stage(1, 3), async ({ task }) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let sockets = 0;
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = (...args: Parameters<typeof createConnection>) => {
    sockets++;
    return createConnection(...args);
  };
  try {
    const responses = await many(20, 1, () => request(server, { path: '/ka', agent }));
    expect(describeFailures(responses)).toBe('');
    task.meta.measurements = { clientConnections: sockets };
    expect(sockets, 'TCP connections the client needed for 20 sequential requests with keep-alive').toBe(1);
  } finally {
    agent.destroy();
  }
});

test('a pool per backend: 120 requests, 6 at a time, reach the backends over far fewer connections', stage(1, 4), async ({ task }) => {
  const responses = await many(120, 6, () => request(server, { path: '/pool' }));
  expect(describeFailures(responses)).toBe('');
  const all = await logs(backends);
  const connections = all.reduce((sum, log) => sum + log.proxiedConnections, 0);
  task.meta.measurements = { requests: 120, backendConnections: connections };
  // 6 client requests at a time need at most 6 connections to any backend, 18 in all; 30 leaves
  // room for a pool that closes some idle ones. A proxy without a pool opens one per request: 120.
  expect(
    connections,
    `connections the backends accepted for 120 proxied requests (${all.map((l) => `${l.name}: ${l.proxiedConnections}`).join(', ')})`,
  ).toBeLessThanOrEqual(30);
});

test('chunked and content-length responses arrive whole, byte for byte', stage(1, 2), async () => {
  for (const path of ['/bytes/200000', '/bytes/200000?chunked']) {
    const response = await request(server, { path });
    expect(response.status, path).toBe(200);
    expect(response.body.length, `${path}: bytes received`).toBe(200_000);
    for (let i = 0; i < response.body.length; i += 997) expect(response.body[i], `${path}: byte ${i}`).toBe((i * 7 + 3) & 0xff);
  }
});
