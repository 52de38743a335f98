// The local runtime: visible tests in the learner's loop, and the fallback when no engine answers.
import { describe, expect, test } from 'vitest';
import { listExercises } from '../src/catalog/catalog.ts';
import { gradeJson, netkata, failedTests } from './helpers/cli.ts';

describe('local runtime', async () => {
  const exercises = (await listExercises()).map((e) => e.manifest.id);

  test.each(exercises)('%s: visible tests pass for the solution and fail for the starter', async (id) => {
    const solution = await netkata(['test', id, '--solution', '--reporter', 'json']);
    expect(solution.code, solution.stderr).toBe(0);
    expect(JSON.parse(solution.stdout).runtime.kind).toBe('local');
    const starter = await netkata(['test', id, '--reporter', 'json']);
    expect(starter.code).toBe(1);
  });

  test('with no engine reachable, grade falls back to the local runtime and says so', async () => {
    const { code, report, stderr } = await gradeJson(['echo-server', '--solution'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(code, `${stderr}${failedTests(report)}`).toBe(0);
    expect(report.runtime).toMatchObject({ kind: 'local', isolated: false });
    expect(stderr).toMatch(/no Docker engine reachable.*local runtime/);
    expect(report.notices.join('\n')).toMatch(/local runtime/);
  });

  test('--runtime docker with no engine reachable is a grader error (exit 2), not a failed grade', async () => {
    const result = await netkata(['grade', 'echo-server', '--solution', '--runtime', 'docker'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no Docker engine reachable/);
    expect(result.stdout).toBe('');
  });

  test('bad input is a grader error (exit 2) with one plain line', async () => {
    const unknown = await netkata(['grade', 'no-such-exercise']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^netkata: no exercise "no-such-exercise"; known: echo-server/);
    const badFlag = await netkata(['grade', 'echo-server', '--runtime', 'kubernetes']);
    expect(badFlag.code).toBe(2);
    const stray = await netkata(['grade', 'echo-server', 'solutions/01-echo-server']);
    expect(stray.code).toBe(2);
    expect(stray.stderr.trim()).toBe('netkata: unexpected argument "solutions/01-echo-server": name a submission with --submission solutions/01-echo-server');
  });
});

describe('local runtime: a run of a command-line submission', () => {
  test('ends when its command does: what it left running (holding its output open) is killed with it', async () => {
    const { LocalRuntime } = await import('../src/runtime/local-runtime.ts');
    const { loadProfile } = await import('../src/impairment/profile.ts');
    const runtime = new LocalRuntime(['sh', '-c'], process.cwd(), { backend: 'relay', link: loadProfile('clean'), seed: 1 }, 'tcp');
    const started = performance.now();
    // The background sleep keeps the run's stdout open: without its process group killed, the run would wait 30 s for it.
    const { limits } = (await listExercises()).find((e) => e.manifest.id === 'tls-client')!.manifest;
    const result = await runtime.run({ args: ['sleep 30 & echo done'], limits, timeoutMs: 20_000 });
    expect(result.stdout.toString()).toBe('done\n');
    expect(result.exitCode).toBe(0);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
