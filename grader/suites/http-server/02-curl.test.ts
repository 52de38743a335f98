import { expect, test } from 'vitest';
import { stage, usePeer, useSubmission } from 'netkata/harness';
import { BIG_BYTES, FILES, LAST_MODIFIED, PUBLIC, servedTree } from './http.ts';

// Stage 2: curl, a real client, in a grader-owned container on the run network, must read your
// answers as this suite's strict reader does: the same status, length and type, one connection
// reused for several files, a HEAD, a range and a 304. A server that passes a hand-written test
// but confuses a real client fails here.
const client = usePeer({ name: 'curl', image: 'http-peer', command: ['sleep', 'infinity'] });
const server = useSubmission({ files: servedTree(), filesRoot: PUBLIC });

const BASE = 'http://submission:7000';
/** curl's view of each transfer, one line each: status, bytes of body, new connections, type. */
const WRITE_OUT = '%{http_code} %{size_download} %{num_connects} %{content_type}\\n';

async function curl(args: readonly string[]): Promise<string[]> {
  const { exitCode, output } = await client.exec(['curl', '--http1.1', '--silent', '--show-error', '--max-time', '10', ...args], { timeoutMs: 30_000 });
  // curl's own exit codes: 18 a body shorter than its Content-Length, 28 a timeout, 52 no answer, 56 a broken connection.
  expect(exitCode, `curl ${args.join(' ')} exited ${exitCode}: ${output.slice(-400)}`).toBe(0);
  return output.trim().split('\n');
}

test('curl agrees: three files on one reused connection, a HEAD, a range and a 304', stage(2, 2), async () => {
  const names = ['hello.txt', 'data.json', 'index.html'] as const;
  const lines = await curl(names.flatMap((name) => ['--output', '/dev/null', '--write-out', WRITE_OUT, `${BASE}/${name}`]));
  expect(lines.length, `curl's report, a line per transfer:\n${lines.join('\n')}`).toBe(names.length);
  for (const [i, name] of names.entries()) {
    const [status, size, connects, type] = lines[i]!.split(' ');
    expect(status, `curl's status for /${name}`).toBe('200');
    expect(size, `curl's byte count for /${name}`).toBe(String(FILES[name]!.length));
    expect(type ?? '', `curl's Content-Type for /${name}`).not.toBe('');
    // curl keeps the connection for the next URL when the answer let it (keep-alive, a length it trusts).
    expect(connects, `connections curl opened for file ${i + 1} of ${names.length} (0: it reused the last)`).toBe(i === 0 ? '1' : '0');
  }
  const head = await curl(['--head', `${BASE}/hello.txt`]);
  expect(head[0], 'curl --head: the status line').toMatch(/^HTTP\/1\.1 200/);
  expect(
    head.some((l) => /^content-length: *15\r?$/i.test(l)),
    `curl --head: Content-Length of hello.txt:\n${head.join('\n')}`,
  ).toBe(true);
  const [range] = await curl(['--range', '100-199', '--output', '/dev/null', '--write-out', WRITE_OUT, `${BASE}/big.bin`]);
  expect(range!.split(' ').slice(0, 2), `curl --range 100-199 of a ${BIG_BYTES}-byte file: status and bytes`).toEqual(['206', '100']);
  const [conditional] = await curl(['--time-cond', LAST_MODIFIED, '--output', '/dev/null', '--write-out', WRITE_OUT, `${BASE}/hello.txt`]);
  expect(conditional!.split(' ').slice(0, 2), `curl --time-cond "${LAST_MODIFIED}" (If-Modified-Since): status and bytes`).toEqual(['304', '0']);
  await server.assertRunning();
});
