// Hostile submissions at run time: each ends in a verdict a learner can read, as the learner's
// failure (exit 1, never a grader error), within its time limit, and leaves nothing behind.
import { describe, expect, test } from 'vitest';
import { findExercise } from '../src/catalog/catalog.ts';
import { DockerEngine } from '../src/runtime/docker/engine.ts';
import { fixture, gradeJson, ownedBy } from './helpers/cli.ts';

const { limits } = (await findExercise('echo-server')).manifest;

/** Wall-clock bound of one stage-1 grade of a fixture: its startup timeout plus generous slack. */
const GRADE_BOUND_MS = limits.startupTimeoutMs + 60_000;

const cases: ReadonlyArray<{ fixture: string; why: RegExp }> = [
  { fixture: 'memory-balloon', why: new RegExp(`your server was killed: it exceeded its ${limits.memoryMb} MiB memory limit`) },
  {
    fixture: 'never-listens',
    why: new RegExp(
      `did not listen on PORT 7000 within ${limits.startupTimeoutMs} ms: it has no listening TCP socket at all; its last output:\\n\\s*\\|?\\s*starting up`,
    ),
  },
  { fixture: 'wrong-port', why: /did not listen on PORT 7000 .*: it listens on port 8080 instead: use the port in process\.env\.PORT \(7000\)/ },
  { fixture: 'loopback-only', why: /it listens on 127\.0\.0\.1:7000 only, which nothing outside its container can reach: listen on 0\.0\.0\.0/ },
  { fixture: 'daemonizes', why: /exited with code 0 \(a server must keep running in the foreground/ },
  { fixture: 'cpu-spinner', why: /expected \d+ bytes from the server, got 0: timed out after \d+ ms/ },
];

async function expectNothingLeft(pid: number): Promise<void> {
  const engine = await DockerEngine.connect();
  expect(await engine.dockerode.listContainers({ all: true, filters: ownedBy(pid) }), 'containers left').toEqual([]);
  expect(await engine.dockerode.listNetworks({ filters: ownedBy(pid) }), 'networks left').toEqual([]);
  expect((await engine.dockerode.listVolumes({ filters: ownedBy(pid) })).Volumes ?? [], 'volumes left').toEqual([]);
}

describe('hostile submissions at run time (echo-server, stage 1)', () => {
  test.each(cases)('$fixture: fails as the learner, saying why', async ({ fixture: name, why }) => {
    const started = Date.now();
    const { code, report, pid, stderr } = await gradeJson(['echo-server', '--submission', fixture('hostile', name), '--runtime', 'docker', '--stages', '1']);
    expect(Date.now() - started, 'within its time limit').toBeLessThan(GRADE_BOUND_MS);
    expect(report.graderErrors, 'no grader error').toEqual([]);
    expect(code, stderr).toBe(1);
    expect(report.status).toBe('fail');
    const failed = report.tests.filter((t) => t.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    // The first failure says why, in its message or in its transcript; in a gated grade the rest
    // of a silent server's stage ends at once, saying so. The transcript: on a busy machine a
    // daemon's child can listen before its parent's exit ends the container, so the readiness
    // check passes, the test's connection is reset, and the harness notes the exit it then finds
    // (CI saw it once in about a hundred grades).
    expect(`${failed[0]!.error}\n${failed[0]!.transcript ?? ''}`).toMatch(why);
    const stopped = `not run: "${failed[0]!.name}" failed`;
    for (const t of failed.slice(1)) expect(why.test(t.error ?? '') || (t.error ?? '').startsWith(stopped), t.error).toBe(true);
    await expectNothingLeft(pid);
  });

  test('crash-mid-test: the transcript says the submission exited, and its output shows the crash', async () => {
    const { code, report, pid } = await gradeJson([
      'echo-server',
      '--submission',
      fixture('hostile', 'crash-mid-test'),
      '--runtime',
      'docker',
      '--stages',
      '1',
    ]);
    expect(code).toBe(1);
    expect(report.graderErrors).toEqual([]);
    const failed = report.tests.find((t) => t.status === 'failed');
    expect(failed?.error).toMatch(/the server closed the connection/);
    expect(failed?.transcript).toMatch(/the submission exited with code 1/);
    expect(failed?.serverLog).toMatch(/boom: crashed on purpose/);
    await expectNothingLeft(pid);
  });

  test('stdout-flood: its output reaches the report bounded, and the grade is not slowed', async () => {
    const started = Date.now();
    const { code, report, stdout, pid } = await gradeJson([
      'echo-server',
      '--submission',
      fixture('hostile', 'stdout-flood'),
      '--runtime',
      'docker',
      '--stages',
      '1',
    ]);
    expect(Date.now() - started).toBeLessThan(GRADE_BOUND_MS);
    expect(code).toBe(1);
    expect(report.graderErrors).toEqual([]);
    for (const t of report.tests.filter((x) => x.serverLog)) {
      expect(t.serverLog!.split('\n').length, 'lines of server output kept').toBeLessThanOrEqual(31);
      expect(t.serverLog!.length, 'characters of server output kept').toBeLessThan(100_000);
    }
    expect(stdout.length, 'the whole report').toBeLessThan(256 * 1024);
    await expectNothingLeft(pid);
  });

  test('escape-probe (C): raw sockets, ip/tc, namespaces, mounts, writes, the host, IPv6 and DNS all closed', async () => {
    const { code, report, pid, stderr } = await gradeJson([
      'echo-server',
      '--submission',
      fixture('hostile', 'escape-probe'),
      '--suite',
      fixture('hostile-suite'),
      '--runtime',
      'docker',
    ]);
    const failures = report.tests.filter((t) => t.status !== 'passed').map((t) => `${t.name}: ${t.error}`);
    expect(failures, stderr).toEqual([]);
    expect(code).toBe(0);
    await expectNothingLeft(pid);
  });
});
