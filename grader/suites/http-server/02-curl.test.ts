import { expect, test } from 'vitest';
import { stage, usePeer, useSubmission } from 'netkata/harness';
import { FILES, PUBLIC, servedTree } from './http.ts';
import { curlOf, WRITE_OUT } from './curl.ts';

// Stage 2: curl, a real client, in a grader-owned container on the run network, must read your
// answers as this suite's strict reader does: the same status, length and type, one connection
// reused for several files, and a HEAD (a range and a 304 are stage 3's: 03-curl.test.ts). A
// server that passes a hand-written test but confuses a real client fails here.
const client = usePeer({ name: 'curl', image: 'http-peer', command: ['sleep', 'infinity'] });
const server = useSubmission({ files: servedTree(), filesRoot: PUBLIC });

const curl = curlOf(client);
const BASE = 'http://submission:7000';

test('curl agrees: three files on one reused connection, and a HEAD', stage(2, 1), async () => {
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
  await server.assertRunning();
});
