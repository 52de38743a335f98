// Reporters run against a real grade (a faulty variant on the local runtime, two tests), then
// the written files are checked as the CI systems that read them would.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { fixture, netkata } from './helpers/cli.ts';

const FILTER = 'echoes one message back|binary-safe';
let dir: string;

async function grade(reporter: string): Promise<{ code: number | null; text: string }> {
  const output = path.join(dir, `report.${reporter}`);
  const result = await netkata(['grade', 'echo-server', '--submission', fixture('echo-server', 'bytes-as-strings'), '--runtime', 'local', '-t', FILTER, '--reporter', reporter, '--output', output]);
  return { code: result.code, text: await readFile(output, 'utf8') };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'netkata-reporters-'));
});

describe('reporters', () => {
  test('junit: a testsuite per stage, the failing test with its transcript', async () => {
    const { code, text } = await grade('junit');
    expect(code).toBe(1);
    expect(text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="netkata echo-server" tests="2" failures="1"/);
    expect(text).toMatch(/<testsuite name="stage 1: Accept a connection and echo one message" tests="1" failures="0"/);
    expect(text).toMatch(/<testcase classname="echo-server.stage2" name="is binary-safe[^"]*" time="[\d.]+"><failure message="[^"]+">[\s\S]*transcript:/);
    expect(text).not.toMatch(/[\x00-\x08]/);
    expect(text.match(/<testsuite /g)?.length).toBe(text.match(/<\/testsuite>/g)?.length);
  });

  test('exercism: results.json version 3 with task ids', async () => {
    const { code, text } = await grade('exercism');
    expect(code).toBe(1);
    const results = JSON.parse(text);
    expect(results).toMatchObject({ version: 3, status: 'fail' });
    expect(results.tests).toHaveLength(2);
    expect(results.tests[0]).toMatchObject({ name: 'echoes one message back', status: 'pass', task_id: 1 });
    expect(results.tests[1]).toMatchObject({ status: 'fail', task_id: 2 });
    expect(results.tests[1].message).toBeTruthy();
    expect(results.tests[1].output.length).toBeLessThanOrEqual(500);
  });

  test('github: an ::error annotation on the learner\'s file per failing test, and the score', async () => {
    const { code, text } = await grade('github');
    expect(code).toBe(1);
    const errors = text.split('\n').filter((line) => line.startsWith('::error '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^::error file=grader\/test\/fixtures\/echo-server\/bytes-as-strings\/src\/main\.ts,title=stage 2%3A is binary-safe/);
    expect(errors[0]).not.toMatch(/\n/);
    expect(text).toMatch(/^::notice title=netkata echo-server::FAIL \d+\/\d+ points$/m);
  });
});
