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
