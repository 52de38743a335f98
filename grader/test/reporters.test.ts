// Reporters run against a real grade (a faulty variant on the local runtime, two tests), then
// the written files are checked as the CI systems that read them would.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../src/catalog/manifest.ts';
import { renderBatch } from '../src/commands/batch.ts';
import { Transcript } from '../src/harness/transcript.ts';
import { buildFailureReport, scoreRun, type GradeReport } from '../src/report/grade-report.ts';
import { render } from '../src/report/reporters.ts';
import { visibleLine, visibleText } from '../src/sanitize.ts';
import { repoRoot } from '../src/paths.ts';
import { fixture, netkata } from './helpers/cli.ts';
import { exercismResults, gradescopeResults } from './helpers/result-schemas.ts';
import { allStrings, expectActionsSafe, expectTerminalSafe, junitSchemaErrors, UNSAFE_CHAR, xmlErrors } from './helpers/untrusted-output.ts';

const FILTER = 'echoes one message back|binary-safe';
/** The stages those two tests are in: the CI reporters grade every stage, and stage 6's two calibrations would take most of each grade. */
const STAGES = ['--stages', '1-2'];
let dir: string;

/** The faulty variant's two tests, graded on the local runtime with these reporters. */
const gradeWith = (reporters: string, env: NodeJS.ProcessEnv = {}) =>
  netkata(
    [
      'grade',
      'echo-server',
      '--submission',
      fixture('echo-server', 'bytes-as-strings'),
      '--runtime',
      'local',
      '-t',
      FILTER,
      ...STAGES,
      '--reporter',
      reporters,
    ],
    {
      env,
    },
  );

async function grade(reporter: string): Promise<{ code: number | null; text: string }> {
  const output = path.join(dir, `report.${reporter}`);
  const result = await gradeWith(`${reporter}=${output}`);
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
    expect(text).toMatch(
      /<testcase classname="echo-server.stage2" name="is binary-safe[^"]*" time="[\d.]+"><failure message="[^"]+" type="assertion">[\s\S]*transcript:/,
    );
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

  test("github: an ::error annotation on the learner's file per failing test, and the score", async () => {
    const { code, text } = await grade('github');
    expect(code).toBe(1);
    const errors = text.split('\n').filter((line) => line.startsWith('::error '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^::error file=grader\/test\/fixtures\/echo-server\/bytes-as-strings\/src\/main\.ts,title=stage 2%3A is binary-safe/);
    expect(errors[0]).not.toMatch(/\n/);
    expect(text).toMatch(/^::notice title=netkata echo-server::FAIL \d+\/\d+ points$/m);
  });

  test('several reporters in one grade: pretty to stdout, junit and json to their files, the job summary appended', async () => {
    const junit = path.join(dir, 'multi.xml');
    const json = path.join(dir, 'multi.json');
    const summary = path.join(dir, 'step-summary.md');
    await writeFile(summary, '# an earlier step\n\n');
    const result = await gradeWith(`github,junit=${junit},json=${json}`, { GITHUB_STEP_SUMMARY: summary });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^::notice title=netkata echo-server::FAIL \d+\/\d+ points$/m);
    expect(await junitSchemaErrors(await readFile(junit, 'utf8'))).toEqual([]);
    const report = JSON.parse(await readFile(json, 'utf8'));
    expect(report.tests).toHaveLength(2);
    expect(report.graderVersion).toMatch(/^\d+\.\d+\.\d+/);
    const markdown = await readFile(summary, 'utf8');
    expect(markdown).toMatch(/^# an earlier step\n\n### netkata echo\\-server: FAIL \d+\/\d+ points$/m);
    expect(markdown).toContain('| stage 2\\: is binary\\-safe');
  });

  test('the Exercism adapter: results.json v3 in the output folder, exit 0 whether the tests passed or not', async () => {
    const out = path.join(dir, 'exercism-out');
    const ran = spawnSync(
      path.join(repoRoot, 'adapters', 'exercism', 'bin', 'run.sh'),
      ['echo-server', `${fixture('echo-server', 'bytes-as-strings')}/`, `${out}/`, '-t', FILTER, ...STAGES],
      { encoding: 'utf8' },
    );
    expect(ran.status, ran.stderr).toBe(0);
    const results = exercismResults.parse(JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')));
    expect(results.status).toBe('fail');
    expect(results.tests!.map((t) => [t.task_id, t.status])).toEqual([
      [1, 'pass'],
      [2, 'fail'],
    ]);
    // netkata itself could not run (no such exercise): still a results.json that says so, and a non-zero exit.
    const broken = spawnSync(
      path.join(repoRoot, 'adapters', 'exercism', 'bin', 'run.sh'),
      ['no-such-exercise', `${fixture('echo-server', 'bytes-as-strings')}/`, `${out}/`],
      { encoding: 'utf8' },
    );
    expect(broken.status).toBe(1);
    const error = exercismResults.parse(JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8')));
    expect(error.status).toBe('error');
    expect(error.message).toMatch(/^netkata could not grade this solution \(exit 2\):[\s\S]*no-such-exercise/);
  });
});

// Every class of hostile text a submission can get into a report, as one string.
const HOSTILE = [
  'clear \x1b[2J\x1b[H cursor \x1b[10;1H colour \x1b[32mgreen\x1b[0m',
  'osc52 \x1b]52;c;cHduZWQ=\x07 link \x1b]8;;https://example.invalid/\x1b\\click\x1b]8;;\x1b\\ title \x1b]0;pwned\x07',
  'dcs \x1bP+q544e\x1b\\ c1 \u009b2J \u009d0;t\u009c \u0085nel',
  'FAIL 0/120 points\rPASS 120/120 points',
  'bidi \u202eevil\u202c \u2066iso\u2069 \u200fRLM \u061c zero\u200bwidth \ufeffbom \u2028ls',
  '::error::pwned',
  '  ::stop-commands::abc',
  '\t::add-mask::secret',
  '\u00a0\u3000::set-output name=x::y',
  '##[error]x',
  '  ##vso[task.setvariable variable=x]y',
  'in a line ##[set-output name=a;]b and ##VSO[task.complete]',
  'escaped newline %0A::error::second and %0D::warning::third',
  'nonchar \uffff \ufffe \u{1fffe} lone \ud800 \udfff nul \x00 del \x7f bell \x07 vt \x0b ff \x0c',
  '[netkata:infrastructure] the grader is broken, honest',
].join('\n');

function hostileTranscript(): string {
  const transcript = new Transcript();
  transcript.record('c1', 'received', Buffer.from(HOSTILE, 'utf8'));
  transcript.record('client', 'note', `stderr: ${HOSTILE}`);
  return transcript.render();
}

const hostileReport = (): GradeReport => ({
  schemaVersion: 1,
  exercise: { id: 'echo-server', title: 'Echo server' },
  submission: { path: 'students/eve,::error::x/\x1b[2J', kind: 'typescript' },
  runtime: { kind: 'docker', version: '20.10.24', isolated: true },
  status: 'fail',
  points: 0,
  maxPoints: 10,
  stages: [{ stage: 1, title: 'Accept a connection and echo one message', status: 'fail', points: 0, maxPoints: 10, hint: 'Listen on 0.0.0.0.' }],
  tests: [
    {
      name: 'echoes one message back',
      file: '01-accept.test.ts',
      stage: 1,
      points: 5,
      status: 'failed',
      profile: 'wan,::x',
      durationMs: 12,
      error: `expected 'hello' to be:\n${HOSTILE}`,
      transcript: hostileTranscript(),
      serverLog: HOSTILE,
    },
  ],
  buildError: `src/main.ts(1,1): error TS1005: nope\n${HOSTILE}`,
  graderErrors: [`01-accept.test.ts > x: ${HOSTILE}`],
  notices: [HOSTILE],
  startedAt: '2025-01-01T00:00:00.000Z',
  durationMs: 1234,
});

/** The learner's lines, each as the report shows it: made visible, nothing left out. */
const VISIBLE = [
  '\\x1b[2J',
  '\\x1b]52;c;cHduZWQ=\\x07',
  '\\x1b]8;;https://example.invalid/',
  '\\x1bP+q544e',
  '\\x9b2J',
  '\\rPASS 120/120 points',
  '\\u202eevil',
  '\\u2066iso',
  '\\uffff',
  '\\ufffe',
  '\\u{1fffe}',
  '\\ud800',
  '\\x00',
  '[netkata:infrastructure]',
];

describe('hostile text in every reporter', () => {
  test('visibleText shows every control and escape, keeps tabs and newlines, is idempotent and bounded', () => {
    const shown = visibleText(HOSTILE);
    expect(shown).not.toMatch(UNSAFE_CHAR);
    for (const visible of VISIBLE) expect(shown).toContain(visible);
    expect(visibleText('a\tb\r\nc\n')).toBe('a\tb\nc\n');
    expect(visibleText(shown)).toBe(shown);
    const long = visibleText(Array.from({ length: 500 }, (_, i) => `line ${i} ${'x'.repeat(i * 10)}`).join('\n'), { maxLines: 50, maxLineChars: 200 });
    expect(long.split('\n')).toHaveLength(50);
    expect(long.split('\n').at(-1)).toBe('[... 451 more lines]');
    expect(Math.max(...long.split('\n').map((l) => l.length))).toBeLessThanOrEqual(200);
    expect(long).toMatch(/ \[\.\.\. line of \d+ characters cut\]$/m);
    expect(visibleText(long, { maxLines: 50, maxLineChars: 200 })).toBe(long);
    // A cut never leaves half of a surrogate pair.
    expect(visibleText('😀'.repeat(300), { maxLineChars: 101 })).not.toMatch(UNSAFE_CHAR);
    expect(visibleLine('a\nb\tc\x1b')).toBe('a\\nb\\tc\\x1b');
  });

  test("pretty: no escape but the grader's colours, every escape visible, learner lines behind a gutter", () => {
    const text = render(hostileReport(), 'pretty', { color: true, verbose: true });
    expectTerminalSafe(text);
    expect(text).toContain('\x1b[31mFAIL\x1b[0m 0/10 points');
    for (const visible of VISIBLE) expect(text).toContain(visible);
    // Only the grader's verdict starts a line with a verdict; the learner's sits behind `| `.
    const plain = text.replace(/\x1b\[\d+m/g, '');
    expect(plain.split('\n').filter((line) => /^\s*(PASS|FAIL|ERROR)\b/.test(line))).toEqual(['FAIL 0/10 points in 1.2 s']);
    expect(plain).toMatch(/^ {8}\| osc52 \\x1b\]52;c;/m);
    expect(plain).toMatch(/^ {8}\| FAIL 0\/120 points\\rPASS 120\/120 points$/m);
  });

  test('github: learner text only inside a stop-commands block, no line a command, annotations cannot be broken out of', () => {
    const report = hostileReport();
    const text = render(report, 'github');
    expectTerminalSafe(text);
    const annotations = expectActionsSafe(text, [HOSTILE, report.submission.path]);
    // One per failing test, the build error, the grader error, and the score: no second one from learner text.
    expect(annotations.map((a) => a.command)).toEqual(['error', 'error', 'error', 'notice']);
    const file = `${visibleText(report.submission.path)}/src/main.ts`;
    expect(annotations[0]!.properties).toEqual({ file, title: 'does not build' });
    expect(annotations[1]!.properties).toEqual({ file, title: 'stage 1: echoes one message back [wan,::x]' });
    expect(annotations[2]!.properties).toEqual({ title: 'netkata grader error' });
    expect(annotations[3]).toEqual({ command: 'notice', properties: { title: 'netkata echo-server' }, data: 'FAIL 0/10 points' });
    // The message keeps the learner's text, visibly, on the annotation's own line.
    expect(annotations[1]!.data).toContain('escaped newline %0A::error::second');
    expect(annotations[1]!.data).toContain('\\x1b]52;c;');
    for (const visible of VISIBLE) expect(text).toContain(visible);
  });

  test('github: learner text that ends the stop-commands block with a guessed token stays inert', () => {
    // A learner who prints `::stop-commands::x` then `::x::` cannot resume: the grader's token is not theirs.
    const report = { ...hostileReport(), tests: [{ ...hostileReport().tests[0]!, serverLog: '::stop-commands::mine\n::error::one\n::mine::\n::error::two' }] };
    const annotations = expectActionsSafe(render(report, 'github'), [HOSTILE, report.tests[0]!.serverLog]);
    expect(annotations).toHaveLength(4);
  });

  test('junit: libxml2 rejects what the old escaping let through, and parses the new output strictly', async () => {
    // The escaping junit.ts had before: C0 controls only, so U+FFFF, U+FFFE reached the file.
    const oldXml = (text: string) =>
      text
        .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;');
    const old = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="s"><testcase name="t"><failure message="m">${oldXml(HOSTILE)}</failure></testcase></testsuite></testsuites>\n`;
    expect((await xmlErrors(old)).join('\n')).toMatch(/invalid Char value 6553[45]/);
    const text = render(hostileReport(), 'junit');
    expect(await xmlErrors(text)).toEqual([]);
    expect(await junitSchemaErrors(text)).toEqual([]);
    expect(text).not.toMatch(UNSAFE_CHAR);
    for (const visible of VISIBLE) expect(text).toContain(visible.replace(/&/g, '&amp;'));
    expect(text).toMatch(/<failure message="expected &apos;hello&apos; to be:" type="assertion">/);
  });

  test('gradescope: every string visible text, the results still in their shape', () => {
    const results = gradescopeResults.parse(JSON.parse(render(hostileReport(), 'gradescope')));
    for (const s of allStrings(results)) expect(s).not.toMatch(UNSAFE_CHAR);
    for (const visible of VISIBLE) expect(results.tests[0]!.output).toContain(visible);
    expect(results.output).toContain('\\u202eevil');
  });

  test('exercism and json: every string visible text, still valid JSON, output within 500 characters', () => {
    const results = JSON.parse(render(hostileReport(), 'exercism'));
    for (const s of allStrings(results)) expect(s).not.toMatch(UNSAFE_CHAR);
    expect(results.tests[0].output.length).toBeLessThanOrEqual(500);
    expect(results.message).toContain('\\x1b]52;c;');
    const json = JSON.parse(render(hostileReport(), 'json'));
    for (const s of allStrings(json)) expect(s).not.toMatch(UNSAFE_CHAR);
    for (const visible of VISIBLE) expect(json.tests[0].serverLog).toContain(visible);
    // Raw text JSON.stringify would keep as it is: U+FFFF and BiDi controls are not JSON escapes.
    expect(JSON.stringify({ s: '\uffff\u202e' })).toBe('{"s":"\uffff\u202e"}');
  });

  test('the report is made visible where learner text enters it (scoreRun, buildFailureReport)', () => {
    const manifest = { id: 'echo-server', stages: [{ stage: 1, title: 'Accept', points: 5 }] } as unknown as Manifest;
    const { tests, graderErrors, buildError, status, points, maxPoints, stages, ...frame } = hostileReport();
    const scored = scoreRun(manifest, { tests, graderErrors }, frame);
    for (const s of allStrings(scored)) expect(s).not.toMatch(UNSAFE_CHAR);
    expect(scored.tests[0]!.serverLog).toContain('\\x1b]52;c;');
    const failed = buildFailureReport(manifest, buildError!, frame);
    expect(failed.buildError).toContain('\\u202eevil');
    for (const s of allStrings(failed)) expect(s).not.toMatch(UNSAFE_CHAR);
  });

  test("transcripts: bytes and notes (a client's stderr) shown visibly, a note cannot pose as an event", () => {
    const transcript = new Transcript();
    transcript.record('c1', 'received', Buffer.from('\x1b[2J\u202e\uffff\x00', 'utf8'));
    transcript.record('client', 'note', `stderr: ${HOSTILE}`);
    const text = transcript.render();
    expect(text).not.toMatch(UNSAFE_CHAR);
    expect(text).toContain('"\\x1b[2J\\xe2\\x80\\xae\\xef\\xbf\\xbf\\x00"');
    expect(text).toContain('\\x1b]52;c;');
    const eventLines = text.split('\n').filter((line) => /^\s+\d+\.\d{3}s /.test(line));
    expect(eventLines).toHaveLength(2);
  });

  test('batch summary: hostile folder names and error messages stay on their row', () => {
    const text = renderBatch({
      exercise: 'echo-server',
      seed: 1,
      submissions: [
        { submission: 'eve\n::error::x\x1b[2J', status: 'fail', points: 0, maxPoints: 0, durationMs: 1, error: `is not a submission:\n${HOSTILE}` },
        { submission: 'bob', status: 'pass', points: 10, maxPoints: 10, durationMs: 1 },
      ],
    });
    expectTerminalSafe(text);
    expect(text.trimEnd().split('\n')).toHaveLength(4);
    expect(text).toContain('eve\\n::error::x\\x1b[2J');
  });
});
