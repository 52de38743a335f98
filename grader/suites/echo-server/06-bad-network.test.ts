import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { expectBytes, pieceSizes, randomBytes, stage, useSubmission } from 'netkata/harness';

// Stage 6 runs under the manifest's bad-network profiles (wan, lossy): delay, jitter, loss,
// duplication and reordering on every packet, both ways. TCP repairs all of it, so a correct
// server needs nothing special; what breaks is code that leans on timing.
const server = useSubmission();

test('four clients get their exact streams back across a bad link', stage(6, 8, { timeout: 90_000 }), async () => {
  const totalBytes = 256 * 1024;
  await Promise.all(
    [0, 1, 2, 3].map(async (i) => {
      const data = randomBytes(totalBytes, 600 + i);
      await using client = await server.connect({ label: `c${i + 1}`, timeoutMs: 15_000 });
      // A short exchange first, so a server that never echoes fails in seconds, not minutes.
      await client.write('ready?\n');
      expect((await client.read(7, 10_000)).toString()).toBe('ready?\n');
      // Generous for the slowest built-in link (satellite: 512 kbit/s up, 550 ms round trip).
      const echoed = client.read(totalBytes, 45_000);
      let offset = 0;
      for (const size of pieceSizes(64, 1, 8_192, 60 + i)) {
        if (offset >= totalBytes) break;
        await client.write(data.subarray(offset, (offset += size)));
      }
      await client.write(data.subarray(offset));
      expect((await echoed).equals(data), `client ${i + 1}'s echo differs from what it sent`).toBe(true);
    }),
  );
});

test('a half-close with data still in flight loses nothing', stage(6, 6, { timeout: 60_000 }), async () => {
  const data = randomBytes(128 * 1024, 61);
  await using client = await server.connect({ timeoutMs: 15_000 });
  await client.write('ready?\n');
  expect((await client.read(7, 10_000)).toString()).toBe('ready?\n');
  // On a slow link most of this is still on the wire when the FIN leaves.
  await client.write(data);
  await client.end();
  const echoed = await client.readToEnd(45_000);
  expect(echoed.length, 'bytes echoed before the server closed').toBe(data.length);
  expectBytes(echoed, data, 'the echo');
});

/** Longer than any sane idle timeout shortcut, shorter than TCP would take to give up. */
const PARTITION_MS = 4_000;

test('a connection survives a 4 s network partition and echoes again after it heals', stage(6, 6, { timeout: 60_000 }), async () => {
  await using client = await server.connect({ timeoutMs: 15_000 });
  await client.write('before the outage\n');
  expect((await client.read(18, 10_000)).toString()).toBe('before the outage\n');
  await server.link.partition();
  await sleep(PARTITION_MS);
  await server.link.heal();
  await client.write('after the outage\n');
  expect((await client.read(17, 20_000)).toString(), 'the echo after the partition healed').toBe('after the outage\n');
  await server.assertRunning();
});
