// A test on a link that was not the profile never counts as a pass. The userspace engine does
// not fail open (overload becomes drops the kernel counts), its counters and the kernel's are
// read around every test, and a dead engine is noticed. Needs a Docker engine with NFQUEUE;
// without one these tests fail (never skip).
import dgram from 'node:dgram';
import { describe, expect, test } from 'vitest';
import { FLOOD_MIN_PACKETS, integrityFault, LATE_MIN_PACKETS } from '../src/impairment/link-integrity.ts';
import { loadProfile } from '../src/impairment/profile.ts';
import { ensureImage } from '../src/images/ensure-image.ts';
import { newRunId } from '../src/runner/start-run.ts';
import { startProbeSession } from '../src/runtime/docker/calibration-probe.ts';
import { DockerEngine } from '../src/runtime/docker/engine.ts';
import { SIDECAR_MEMORY_BYTES, SIDECAR_NANO_CPUS } from '../src/runtime/docker/impair-sidecar.ts';
import { runLabels } from '../src/runtime/docker/labels.ts';
import { fixture, gradeJson, ownedBy } from './helpers/cli.ts';

/** Counters as `netkata-link stats` prints them: a bound engine, nothing lost yet. */
const base = { bound: 1, portid: 1, 'kernel.id_sequence': 1_000, 'egress.seen': 500, 'ingress.seen': 500 };
const plus = (delta: Record<string, number>) => {
  const after: Record<string, number> = { ...base };
  for (const [key, value] of Object.entries(delta)) after[key] = (after[key] ?? 0) + value;
  return after;
};

describe('integrityFault: was the link the profile for the whole test?', () => {
  test('a link that only did what the profile asks is fine, including its own losses', () => {
    expect(integrityFault(base, plus({ 'egress.seen': 2_000, 'ingress.seen': 2_000, 'egress.dropped': 200, 'kernel.id_sequence': 4_000 }))).toBeUndefined();
  });

  test('a few unrequested drops and late packets within the stated tolerance are the noise of a shared machine', () => {
    expect(integrityFault(base, plus({ 'egress.seen': 5_000, 'ingress.seen': 5_000, 'kernel.queue_dropped': 10, late: LATE_MIN_PACKETS - 1 }))).toBeUndefined();
  });

  test('an engine no longer bound, or restarted, lets packets through unimpaired: the grader errs', () => {
    expect(integrityFault(base, { ...base, bound: 0 })).toMatchObject({ cause: 'grader', message: expect.stringMatching(/no longer bound/) });
    expect(integrityFault(base, { ...base, portid: 7 })).toMatchObject({ cause: 'grader', message: expect.stringMatching(/restarted/) });
  });

  test('queue overflow under the tests’ own traffic is the grader’s fault, with the numbers', () => {
    const fault = integrityFault(base, plus({ 'ingress.seen': 65_536, 'kernel.queue_dropped': 14_464, 'kernel.user_dropped': 3 }));
    expect(fault?.cause).toBe('grader');
    expect(fault?.message).toMatch(
      /dropped 14,464 packets because its queue was full, dropped 3 packets it could not read in time .*this result does not count/,
    );
  });

  test('an overload the submission caused by flooding is its own failure', () => {
    const fault = integrityFault(base, plus({ 'egress.seen': FLOOD_MIN_PACKETS * 10, 'ingress.seen': 8, late: 60_000 }));
    expect(fault?.cause).toBe('submission');
    expect(fault?.message).toMatch(/^your program flooded the link: it sent 100,000 packets during this test while receiving 8/);
  });

  test('copies skipped for lack of memory (duplicates, corruption) are counted like drops', () => {
    expect(integrityFault(base, plus({ 'ingress.seen': 1_000, degraded: 50 }))?.message).toMatch(/skipped the duplication or corruption of 50 packets/);
  });

  test('a link that let packets through unimpaired is weaker than the profile; one that only dropped or delayed more is harsher', () => {
    // Harsher: a pass on it still stands (the harness keeps it); only a failure does not count.
    expect(integrityFault(base, plus({ 'ingress.seen': 65_536, 'kernel.queue_dropped': 14_464 }))?.direction).toBe('harsher');
    expect(integrityFault(base, plus({ 'egress.seen': 1_000, 'ingress.seen': 1_000, late: 500 }))?.direction).toBe('harsher');
    // Weaker: no result counts, pass or fail.
    expect(integrityFault(base, plus({ 'ingress.seen': 1_000, degraded: 50 }))?.direction).toBe('weaker');
    expect(integrityFault(base, { ...base, bound: 0 })?.direction).toBe('weaker');
    expect(integrityFault(base, { ...base, portid: 7 })?.direction).toBe('weaker');
  });
});

describe('the userspace engine on a real link', () => {
  test('its sidecar is bounded (1 CPU, 64 MiB, 64 pids) and its counters include the kernel’s for its queue', async () => {
    const engine = await DockerEngine.connect();
    const runId = newRunId();
    const [runtime, impair] = [await ensureImage(engine, 'runtime'), await ensureImage(engine, 'impair')];
    const network = await engine.createRunNetwork(runId);
    try {
      await using session = await startProbeSession({
        engine,
        network,
        runtimeImage: runtime.tag,
        impairImage: impair.tag,
        labels: runLabels(runId),
        backend: 'userspace',
        seed: 1,
      });
      const { HostConfig } = await engine.dockerode.getContainer(session.sidecar.id).inspect();
      expect(HostConfig).toMatchObject({ NanoCpus: SIDECAR_NANO_CPUS, Memory: SIDECAR_MEMORY_BYTES, MemorySwap: SIDECAR_MEMORY_BYTES, PidsLimit: 64 });
      await session.sidecar.apply(loadProfile('wan'));
      // Ten datagrams the probe ignores: the kernel numbered each as it queued it for the engine.
      const socket = dgram.createSocket('udp4');
      for (let i = 0; i < 10; i++) socket.send('ignored', session.probe.target.port, session.probe.target.host);
      await expect.poll(async () => (await session.sidecar.stats())?.['ingress.delivered']).toBeGreaterThanOrEqual(10);
      socket.close();
      const stats = await session.sidecar.stats();
      expect(stats).toMatchObject({ bound: 1, 'kernel.queue_dropped': 0, 'kernel.user_dropped': 0, degraded: 0 });
      expect(stats?.['kernel.id_sequence']).toBe((stats?.['egress.seen'] ?? 0) + (stats?.['ingress.seen'] ?? 0));
      // Dead engine, loud counters: stats() says so instead of returning numbers.
      await engine.exec(session.sidecar.id, ['sh', '-c', 'kill -TERM 1']);
      await expect.poll(async () => (await engine.dockerode.getContainer(session.sidecar.id).inspect()).State.Running).toBe(false);
      await expect(session.sidecar.stats()).rejects.toMatchObject({
        graderFault: true,
        message: expect.stringMatching(/engine exited \(exit code 0\), so packets pass unimpaired/),
      });
    } finally {
      await engine.removeRun(runId);
    }
  }, 60_000);
});

describe('a grade whose link stops being the profile', () => {
  test('a flood, a starved engine and a killed engine: none of the three tests passes', async () => {
    const { code, report, stderr, pid } = await gradeJson([
      'echo-server',
      '--submission',
      fixture('hostile', 'udp-flood', 'submission'),
      '--suite',
      fixture('hostile', 'udp-flood', 'suite'),
      '--runtime',
      'docker',
      '--profile',
      'wan',
      '--impairment',
      'userspace',
    ]);
    const shown = `${stderr}\n${JSON.stringify(report.tests, null, 2)}`;
    expect(code, shown).toBe(2);
    expect(report.status).toBe('error');
    expect(report.impairment?.backend).toBe('userspace');
    const [flood, starved, killed] = report.tests;
    expect(
      report.tests.map((t) => t.status),
      shown,
    ).toEqual(['failed', 'failed', 'failed']);

    // (a) The counters saw the overload; the submission's own flood is its failure, not the grader's
    // (the test failed on its own too: a pass on a link that was only harsher would stand).
    expect(flood?.error, shown).toMatch(/(^|\n)your program flooded the link: it sent [\d,]+ packets during this test while receiving \d+/);
    expect(flood?.measurements?.['link.egress.seen']).toBeGreaterThanOrEqual(FLOOD_MIN_PACKETS);
    expect(report.graderErrors.some((e) => e.includes(flood!.name))).toBe(false);

    // (b) Overload under the tests' own traffic: the kernel dropped what exceeded its queue
    // (80,000 sent, 65,536 queued), counted instead of passed unimpaired; the test's failure on a
    // link harsher than the profile is not the learner's.
    expect(starved?.error, shown).toMatch(
      /(^|\n)InfrastructureError: the userspace impairment engine dropped [\d,]+ packets because its queue was full.*this result does not count/,
    );
    expect(starved?.measurements?.['link.kernel.queue_dropped']).toBeGreaterThan(10_000);
    expect(report.graderErrors.some((e) => e.includes(starved!.name))).toBe(true);

    // (c) The engine killed mid-test: a grader error, never a pass.
    expect(killed?.error, shown).toMatch(
      /^InfrastructureError: the userspace impairment engine exited \(exit code 0\), so packets pass unimpaired: the link was not the profile during this test/,
    );
    expect(report.graderErrors.some((e) => e.includes(killed!.name))).toBe(true);

    const engine = await DockerEngine.connect();
    expect(await engine.dockerode.listContainers({ all: true, filters: ownedBy(pid) })).toEqual([]);
  }, 180_000);
});
