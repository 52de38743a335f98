import { expect, test } from 'vitest';
import { stage, usePeer, useSubmission } from 'netkata/harness';
import { curlOf, WRITE_OUT } from './curl.ts';
import { BIG_BYTES, LAST_MODIFIED, PUBLIC, servedTree } from './http.ts';

// Stage 3: curl, a real client beside your server, reads a range and a 304 as the suite does.
const client = usePeer({ name: 'curl', image: 'http-peer', command: ['sleep', 'infinity'] });
const server = useSubmission({ files: servedTree(), filesRoot: PUBLIC });
const curl = curlOf(client);
const BASE = 'http://submission:7000';

test('curl agrees: a range and a 304', stage(3, 1), async () => {
  const [range] = await curl(['--range', '100-199', '--output', '/dev/null', '--write-out', WRITE_OUT, `${BASE}/big.bin`]);
  expect(range!.split(' ').slice(0, 2), `curl --range 100-199 of a ${BIG_BYTES}-byte file: status and bytes`).toEqual(['206', '100']);
  const [conditional] = await curl(['--time-cond', LAST_MODIFIED, '--output', '/dev/null', '--write-out', WRITE_OUT, `${BASE}/hello.txt`]);
  expect(conditional!.split(' ').slice(0, 2), `curl --time-cond "${LAST_MODIFIED}" (If-Modified-Since): status and bytes`).toEqual(['304', '0']);
  await server.assertRunning();
});
