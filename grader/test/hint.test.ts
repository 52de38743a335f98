// `netkata hint`: the ladder of each stage, one rung per call, through the real CLI, with the
// state in a scratch progress file; and every stage of every exercise has a full ladder.
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, expect, test } from 'vitest';
import { listExercises } from '../src/catalog/catalog.ts';
import { loadProgress, recordResult } from '../src/learner/progress-state.ts';
import type { GradeReport } from '../src/report/grade-report.ts';
import { netkata } from './helpers/cli.ts';

let file: string;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  file = path.join(await mkdtemp(path.join(os.tmpdir(), 'netkata-hint-')), 'progress.json');
  env = { NETKATA_PROGRESS_FILE: file };
});

/** The output with the wrapping undone: rungs are wrapped to the terminal's width. */
const unwrapped = (stdout: string) => stdout.replace(/\n {7}(?! )/g, ' ');

async function ladderOf(exercise: string, stageNumber: number): Promise<string[]> {
  const found = (await listExercises()).find((e) => e.manifest.id === exercise)!;
  const stage = found.manifest.stages.find((s) => s.stage === stageNumber)!;
  return [stage.hint!, ...stage.hints!];
}

/** The rungs an output shows, in order, by their "n/total" labels. */
const shownRungs = (stdout: string) =>
  [...unwrapped(stdout).matchAll(/^ {2}(\d+)\/(\d+) {2}(.*)$/gm)].map((m) => ({ n: Number(m[1]), of: Number(m[2]), text: m[3] }));

const gradeReport = (id: string, passed: number[], stageCount: number) =>
  ({
    exercise: { id, title: id },
    status: 'fail',
    points: passed.length * 10,
    maxPoints: stageCount * 10,
    stages: Array.from({ length: stageCount }, (_, i) => ({
      stage: i + 1,
      title: `s${i + 1}`,
      status: passed.includes(i + 1) ? 'pass' : 'fail',
      points: 0,
      maxPoints: 10,
    })),
  }) as unknown as GradeReport;

test('rungs come one per call, in ladder order: the nudge, the pointer, the reference; then it says there are no more', async () => {
  const ladder = await ladderOf('framing', 2);
  expect(ladder.length).toBeGreaterThanOrEqual(3);
  for (let call = 1; call <= ladder.length; call++) {
    const { code, stdout, stderr } = await netkata(['hint', 'framing', '2'], { env });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^framing, stage 2: Frames split and merged anywhere\n/);
    const rungs = shownRungs(stdout);
    expect(
      rungs.map((r) => r.n),
      `call ${call}: the rungs shown`,
    ).toEqual(Array.from({ length: call }, (_, i) => i + 1));
    rungs.forEach((r, i) => expect(r.text, `call ${call}, rung ${i + 1}`).toBe(ladder[i]));
    expect(rungs.every((r) => r.of === ladder.length)).toBe(true);
    const left = ladder.length - call;
    if (left > 0) expect(stdout).toContain(`${left} more: run  npx netkata hint framing 2  again (or --all)`);
    else expect(stdout).toContain('that is every hint for this stage');
  }
  // Past the last rung: the whole ladder again, never an error or an empty answer.
  const again = await netkata(['hint', 'framing', '2'], { env });
  expect(shownRungs(again.stdout).length).toBe(ladder.length);
  expect((await loadProgress(file)).exercises.framing?.hintsShown).toEqual({ 2: ladder.length });
});

test('each stage keeps its own count; --all shows every rung at once and later calls keep them', async () => {
  await netkata(['hint', 'reliable-udp', '3'], { env });
  const other = await netkata(['hint', 'reliable-udp', '5'], { env });
  expect(
    shownRungs(other.stdout).map((r) => r.n),
    'stage 5 starts at its first rung',
  ).toEqual([1]);
  const ladder = await ladderOf('chat-server', 4);
  const all = await netkata(['hint', 'chat-server', '4', '--all'], { env });
  expect(all.code, all.stderr).toBe(0);
  expect(shownRungs(all.stdout).map((r) => r.text)).toEqual(ladder);
  expect(all.stdout).toContain('that is every hint for this stage');
  const after = await netkata(['hint', 'chat-server', '4'], { env });
  expect(shownRungs(after.stdout).length, 'a plain call after --all').toBe(ladder.length);
  expect((await loadProgress(file)).exercises).toMatchObject({
    'reliable-udp': { hintsShown: { 3: 1, 5: 1 } },
    'chat-server': { hintsShown: { 4: ladder.length } },
  });
});

test('without a stage: the first stage the last grade did not pass, and it says why', async () => {
  const fresh = await netkata(['hint', 'event-loop'], { env });
  expect(fresh.stdout).toMatch(/^event-loop, stage 1: .* \(no grade yet: the first stage\)\n/);
  await recordResult(gradeReport('event-loop', [1, 3], 6), { kind: 'grade', own: true, complete: true }, file);
  const hole = await netkata(['hint', 'event-loop'], { env });
  expect(hole.stdout).toMatch(/^event-loop, stage 2: .* \(the first stage your last grade did not pass\)\n/);
  await recordResult(gradeReport('event-loop', [1, 2, 3, 4, 5, 6], 6), { kind: 'grade', own: true, complete: true }, file);
  const done = await netkata(['hint', 'event-loop'], { env });
  expect(done.stdout).toMatch(/^event-loop, stage 6: .* \(your last grade passed every stage: the last one\)\n/);
});

test('a stage out of range, or not a number, is exit 2 with one line naming the stages; nothing is recorded', async () => {
  const bads = ['0', '8', '2.0', ' 2', 'one', ''];
  const results = await Promise.all(bads.map((bad) => netkata(['hint', 'reliable-udp', bad], { env })));
  for (const [i, { code, stdout, stderr }] of results.entries()) {
    const what = `stage ${JSON.stringify(bads[i])}`;
    expect(code, what).toBe(2);
    expect(stdout, what).toBe('');
    expect(stderr.trim().split('\n'), `${what}: one line`).toHaveLength(1);
    expect(stderr, what).toContain('(it has stages 1 to 7)');
  }
  await expect(stat(file), 'no state file after refusals only').rejects.toThrow(/ENOENT/);
  const unknown = await netkata(['hint', 'no-such-exercise'], { env });
  expect(unknown.code).toBe(2);
});

test('output is plain: no escape sequences off a terminal, and a hostile stage argument is shown inert', async () => {
  const plain = await netkata(['hint', 'tls-client', '4', '--all'], { env });
  expect(plain.stdout).not.toMatch(/\x1b/);
  expect(
    plain.stdout.split('\n').every((line) => line.length <= 100 || !line.includes(' ', 8)),
    'lines wrapped to 100 columns',
  ).toBe(true);
  const hostile = await netkata(['hint', 'tls-client', '1\x1b]0;owned\x07\x1b[2J'], { env });
  expect(hostile.code).toBe(2);
  expect(hostile.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
});

test('a state file that is not ours is kept aside, and the hint still comes', async () => {
  await writeFile(file, '{"version": 99}');
  const { code, stdout, stderr } = await netkata(['hint', 'load-balancer', '1'], { env });
  expect(code, stderr).toBe(0);
  expect(shownRungs(stdout).map((r) => r.n)).toEqual([1]);
  expect(await readFile(`${file}.bad`, 'utf8')).toBe('{"version": 99}');
});

// A learner stuck on any stage must have somewhere to go: a nudge, a pointer, and the reference.
const REFERENCE = /\bman \d\b|\bRFC \d{3,4}\b/;

test('every stage of every exercise has a nudge and at least two more rungs, the last naming a man page or an RFC', async () => {
  const exercises = await listExercises();
  expect(exercises.length).toBeGreaterThanOrEqual(7);
  const problems: string[] = [];
  for (const { manifest } of exercises) {
    for (const stage of manifest.stages) {
      const where = `${manifest.id} stage ${stage.stage}`;
      const ladder = [stage.hint, ...(stage.hints ?? [])];
      if (!stage.hint?.trim()) problems.push(`${where}: no hint (rung 1)`);
      if ((stage.hints ?? []).length < 2) problems.push(`${where}: ${(stage.hints ?? []).length} rungs after the hint, at least 2 wanted`);
      const last = ladder.at(-1) ?? '';
      if (!REFERENCE.test(last)) problems.push(`${where}: the last rung names no man page or RFC: ${JSON.stringify(last.slice(0, 80))}`);
      if (new Set(ladder).size !== ladder.length) problems.push(`${where}: a rung repeats another`);
      for (const [i, rung] of ladder.entries())
        if ((rung ?? '').length > 600) problems.push(`${where}: rung ${i + 1} is ${rung!.length} characters (a rung is 1-3 sentences)`);
    }
  }
  expect(problems.join('\n')).toBe('');
});
