// One table-driven check for every exercise, as rustlings' `dev check` and CodeCrafters' tester
// fixtures do it: the reference passes every test under its manifest's profiles in repeated
// grades (`netkata verify`, each with a fresh seed), the starter fails stage 1 and scores 0, and
// every fixture under grader/test/fixtures/<exercise>/ does what its fixture.json claims (a
// faulty variant fails exactly the stage it declares). Adding an exercise or a variant adds no
// test code: vitest.config.ts gives each exercise a project running this file with
// NETKATA_CHECK_EXERCISE set, so exercises are checked in parallel like separate files.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { findExercise } from '../src/catalog/catalog.ts';
import type { VerifyReport } from '../src/commands/verify.ts';
import { repoRoot } from '../src/paths.ts';
import { claimedFixtures, describeClaim } from './helpers/fixture-claims.ts';
import { expectBreaksStage, expectStarterStopsAtStage1, failedTests, gradeJson, netkata, stageStatuses } from './helpers/cli.ts';

const id = process.env['NETKATA_CHECK_EXERCISE'];
if (!id) throw new Error('exercise-check.test.ts runs once per exercise through its vitest project (check:<exercise>), which sets NETKATA_CHECK_EXERCISE');
const exercise = await findExercise(id);
const { manifest } = exercise;
const stageCount = manifest.stages.length;

/**
 * How many times CI grades each reference. One grade each is what fits CI's 30 minutes with the
 * load balancer's 3-minute suite (two each made CI 31 minutes and timed the load balancer out);
 * how often a verdict fails a correct program is the stability record's job (docs/stability.md:
 * 20 grades each, measured alone, `npm run stability`). NETKATA_CHECK_RUNS=N repeats it locally.
 */
const RUNS = Number(process.env['NETKATA_CHECK_RUNS'] ?? 1);
/** Each grade's own bound: the load balancer's reference takes 3.3 minutes alone, more beside other tests. */
const GRADE_TIMEOUT_MS = 480_000;

/**
 * Margins the reference keeps on figures beyond the suite's own limits: a reference that drifts
 * toward a limit would pass today and fail on a busier machine tomorrow. Optional, per exercise.
 */
const REFERENCE_MARGINS: Readonly<
  Record<string, ReadonlyArray<{ test: RegExp; figures: readonly string[]; why: string } & ({ max: number } | { margin: number })>>
> = {
  'reliable-udp': [
    {
      test: /resends only what was lost/,
      figures: ['retransmissions'],
      // Its limit (losses + 8) is then all margin.
      margin: 8,
      why: 'the reference resends exactly what was lost',
    },
  ],
  'load-balancer': [
    {
      test: /^a 100 MiB chunked upload/,
      // The peak where the runtime reports it (cgroup v1 and v2 do), else the last reading.
      figures: ['peakMemoryMiB', 'memoryMiB'],
      max: 96,
      why: 'the reference peaks near 52 MiB; 96 leaves the 128 MiB contract a margin',
    },
  ],
};

/**
 * What a C reference (solutions/<exercise>/c) must show beyond passing, by a test's
 * measurements: the event loop's and the web server's are one thread for 5,000 and 10,000
 * connections, as epoll promises.
 */
const C_REFERENCE_FIGURES: Readonly<Record<string, { test: RegExp; figures: Readonly<Record<string, number>> }>> = {
  'event-loop': { test: /5,000|5000/, figures: { connections: 5_000, threads: 1 } },
  'http-server': { test: /10,000 idle keep-alive connections/, figures: { threads: 1 } },
};

const isDirectory = (dir: string) =>
  stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );

/** The profiles each stage ran under, from a report's tests. */
function profilesByStage(tests: ReadonlyArray<{ stage?: number | undefined; profile?: string | undefined }>): Record<number, string[]> {
  const ran: Record<number, string[]> = {};
  for (const t of tests) if (t.stage !== undefined) ran[t.stage] = [...new Set([...(ran[t.stage] ?? []), t.profile ?? 'clean'])].sort();
  return ran;
}

/** Each stage's profiles as the manifest lists them. */
const manifestProfiles = Object.fromEntries(manifest.stages.map((s) => [s.stage, [...s.profiles].sort()]));

describe(`${id}: the exercise's set`, async () => {
  const fixtures = await claimedFixtures(id);

  test(
    `the reference passes every test under its manifest's profiles in ${RUNS === 1 ? 'one grade' : `${RUNS} grades`} (netkata verify)`,
    async () => {
      const result = await netkata(['verify', id, '--runs', String(RUNS), '--json']);
      let report: VerifyReport;
      try {
        report = JSON.parse(result.stdout) as VerifyReport;
      } catch {
        throw new Error(`netkata verify ${id} printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
      }
      const unstable = report.tests
        .filter((t) => t.passed < t.runs)
        .map((t) => `\n  ${t.name} [${t.profile}]: ${t.passed}/${t.runs}${t.failures.map((f) => `\n    ${f.count}x (seed ${f.seed}): ${f.message}`).join('')}`);
      expect(report.graderErrors, result.stderr).toEqual([]);
      expect(unstable.join(''), 'tests that failed the reference').toBe('');
      expect(result.code, result.stderr).toBe(0);
      expect(report.stable).toBe(true);
      expect(report.grades.map((g) => g.points)).toEqual(report.grades.map((g) => g.maxPoints));
      // Every stage ran, each under exactly the profiles its manifest lists.
      expect(profilesByStage(report.tests)).toEqual(manifestProfiles);
      // The margins, in the log: what a busier machine has left before each limited figure fails.
      for (const t of report.tests)
        for (const [name, f] of Object.entries(t.figures))
          if (f.limit) console.log(`${id}: ${t.name} [${t.profile}] ${name}: ${f.min}..${f.max} (median ${f.median}), margin ${f.margin}`);
      for (const margin of REFERENCE_MARGINS[id] ?? []) {
        const tests = report.tests.filter((t) => margin.test.test(t.name));
        expect(tests.length, `a test matching ${margin.test}`).toBeGreaterThan(0);
        for (const t of tests) {
          const name = margin.figures.find((f) => t.figures[f]);
          expect(name, `${t.name}: one of the figures ${margin.figures.join(', ')}`).toBeDefined();
          const figure = t.figures[name!]!;
          const label = `${t.name} [${t.profile}] ${name}: ${margin.why}`;
          if ('max' in margin) expect(figure.max, label).toBeLessThanOrEqual(margin.max);
          else expect(figure.margin, label).toBe(margin.margin);
        }
      }
    },
    RUNS * GRADE_TIMEOUT_MS,
  );

  test('the starter builds, fails stage 1 (exit 1), scores 0 and runs nothing after it, within a minute', async () => {
    const report = await expectStarterStopsAtStage1(id, stageCount);
    // A do-nothing server must not make the learner wait out timeouts.
    expect(report.durationMs).toBeLessThan(60_000);
  });

  // A second language, where the exercise has one: the C starter (exercises/<NN-id>/c) and the
  // C reference (solutions/<NN-id>/c), Dockerfile submissions on the grader's C image.
  const cStarter = path.join(exercise.exerciseDir, 'c');
  const cReference = path.join(exercise.solutionDir, 'c');
  if (await isDirectory(cStarter)) {
    test('the C starter builds, fails stage 1 (exit 1) and scores 0', async () => {
      await expectStarterStopsAtStage1(id, stageCount, cStarter);
    });
  }
  if (await isDirectory(cReference)) {
    test(
      "the C reference passes every test under its manifest's profiles",
      async () => {
        const { code, report, stderr } = await gradeJson([id, '--submission', cReference, '--runtime', 'docker']);
        expect(code, `${stderr}${failedTests(report)}`).toBe(0);
        expect(report.submission.kind).toBe('dockerfile');
        expect(report.points).toBe(report.maxPoints);
        expect(profilesByStage(report.tests)).toEqual(manifestProfiles);
        const expected = C_REFERENCE_FIGURES[id];
        if (expected) expect(report.tests.find((t) => expected.test.test(t.name))?.measurements).toMatchObject(expected.figures);
        for (const t of report.tests) if (t.measurements) console.log(`${id} (C): ${t.name} [${t.profile}] ${JSON.stringify(t.measurements)}`);
      },
      GRADE_TIMEOUT_MS,
    );
  }

  test.each(fixtures.map((f) => [`${f.name} ${describeClaim(f.claim)}: ${f.claim.why}`, f] as const))('%s', async (_, fixture) => {
    const { claim, dir } = fixture;
    switch (claim.expect) {
      case 'fails-stage':
        await expectBreaksStage(id, dir, claim.stage, claim.profile ? ['--profile', claim.profile] : [], claim.test);
        return;
      case 'passes': {
        const { code, report, stderr } = await gradeJson([id, '--submission', dir, '--runtime', 'docker']);
        expect(code, `${stderr}${failedTests(report)}`).toBe(0);
        expect(report.points).toBe(report.maxPoints);
        expect(stageStatuses(report)).toEqual(Object.fromEntries(manifest.stages.map((s) => [s.stage, 'pass'])));
        expect(profilesByStage(report.tests)).toEqual(manifestProfiles);
        return;
      }
      case 'build-error': {
        const { code, report } = await gradeJson([id, '--submission', dir, '--runtime', 'docker']);
        expect(code).toBe(1);
        expect(report.graderErrors).toEqual([]);
        expect(report.buildError).toMatch(new RegExp(claim.message));
        expect(report.points).toBe(0);
        return;
      }
      case 'proved-elsewhere': {
        const text = await readFile(path.join(repoRoot, claim.by), 'utf8');
        expect(text, `${claim.by} tests ${fixture.name}`).toContain(`'${fixture.name}'`);
        return;
      }
    }
  });
});
