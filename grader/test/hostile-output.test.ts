// A submission that prints workflow commands, ANSI/OSC sequences, U+FFFF, a NUL and the old
// grader-error marker, graded for real on Docker (stage 1), then its report rendered by every
// reporter: the learner's text is all there, and nothing in it is interpreted. Needs a Docker
// engine; without one this fails (never skips).
import { beforeAll, describe, expect, test } from 'vitest';
import type { GradeReport } from '../src/report/grade-report.ts';
import { render } from '../src/report/reporters.ts';
import { DockerEngine } from '../src/runtime/docker/engine.ts';
import { fixture, gradeJson, ownedBy, type CliResult } from './helpers/cli.ts';
import { allStrings, expectActionsSafe, expectTerminalSafe, UNSAFE_CHAR, xmlErrors } from './helpers/untrusted-output.ts';

/** What the fixture printed, as every report must show it: visible, not acted on. */
const VISIBLE = [
  '::error::pwned',
  '::stop-commands::abc',
  '##[error]x',
  'clear screen\\x1b[2J\\x1b[H',
  'title\\x1b]0;pwned\\x07',
  'clipboard \\x1b]52;c;cHduZWQ=\\x07',
  'link \\x1b]8;;https://example.invalid/\\x1b\\click me',
  'FAIL 0/10 points\\rPASS 120/120 points',
  'c1 csi \\x9b2J bidi \\u202eevil\\u202c nonchars \\uffff \\ufffe nul \\x00 end',
  '[netkata:infrastructure] the grader itself failed',
];

let run: CliResult & { report: GradeReport };

beforeAll(async () => {
  run = await gradeJson(['echo-server', '--submission', fixture('hostile', 'loud-output'), '--runtime', 'docker', '--stages', '1']);
});

describe('a submission that prints hostile output', () => {
  test("fails stage 1 as the learner's failure (exit 1, not a grader error), with its output in the report", async () => {
    expect(run.code, run.stderr).toBe(1);
    expect(run.report.status).toBe('fail');
    expect(run.report.graderErrors).toEqual([]);
    expect(run.report.runtime).toMatchObject({ kind: 'docker', isolated: true });
    const failed = run.report.tests.filter((t) => t.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const test of failed) for (const visible of VISIBLE) expect(test.serverLog).toContain(visible);
    // The JSON report itself is display text: no control, escape or noncharacter left raw.
    for (const s of allStrings(run.report)) expect(s).not.toMatch(UNSAFE_CHAR);
    // The grader's own diagnostics on stderr carry none of it either.
    expectTerminalSafe(run.stderr);
    const engine = await DockerEngine.connect();
    const filters = ownedBy(run.pid);
    const left = [...(await engine.dockerode.listContainers({ all: true, filters })), ...(await engine.dockerode.listNetworks({ filters }))];
    expect(left, 'containers or networks left after the run').toEqual([]);
  });

  test("pretty shows every escape, and the only escape sequences are the grader's colours", () => {
    const text = render(run.report, 'pretty', { color: true, verbose: true });
    expectTerminalSafe(text);
    for (const visible of VISIBLE) expect(text).toContain(visible);
    const plain = text.replace(/\x1b\[\d+m/g, '');
    expect(plain.split('\n').filter((line) => /^\s*(PASS|FAIL|ERROR)\b/.test(line))).toEqual([expect.stringMatching(/^FAIL 0\/10 points in /)]);
  });

  test("github executes nothing of it: one stop-commands block, inert lines, only the grader's annotations", () => {
    const text = render(run.report, 'github');
    expectTerminalSafe(text);
    const learner = run.report.tests.map((t) => [t.error, t.serverLog, t.transcript].join('\n'));
    const annotations = expectActionsSafe(text, learner);
    const failed = run.report.tests.filter((t) => t.status === 'failed').length;
    expect(annotations.map((a) => a.command)).toEqual([...Array<string>(failed).fill('error'), 'notice']);
    expect(annotations.at(-1)?.data).toBe('FAIL 0/10 points');
    for (const visible of VISIBLE.filter((v) => !v.startsWith('##'))) expect(text).toContain(visible);
    expect(text).toContain('##\\[error]x');
  });

  test('junit parses with a strict XML parser and keeps the output, escaped', async () => {
    const text = render(run.report, 'junit');
    expect(await xmlErrors(text)).toEqual([]);
    for (const visible of VISIBLE) expect(text).toContain(visible);
  });

  test('exercism results.json is valid JSON of visible text', () => {
    const results = JSON.parse(render(run.report, 'exercism'));
    expect(results.status).toBe('fail');
    for (const s of allStrings(results)) expect(s).not.toMatch(UNSAFE_CHAR);
    for (const test of results.tests.filter((t: { status: string }) => t.status === 'fail')) {
      expect(test.output.length).toBeLessThanOrEqual(500);
      expect(test.output).toContain('::error::pwned');
    }
  });
});
