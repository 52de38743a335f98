import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, GraderError } from './errors.ts';
import { Lifetime } from './lifetime.ts';
import { notice } from './log.ts';
import { visibleText } from './report/sanitize.ts';

const USAGE = `netkata: network programming katas, graded behind a real, hostile network

Usage:
  netkata                                     your progress: each exercise's status, and what to run next
  netkata list [--json]                       the exercises, with your status of each
  netkata test <exercise> [options]           run the visible tests (local runtime by default)
  netkata watch [exercise]                    run the visible tests on every save; keys: h hint,
                                              g grade in Docker, l list, r run, q quit
  netkata grade <exercise> [options]          run the hidden tests (Docker when reachable)
  netkata hint <exercise> [stage] [--all]     the next hint for a stage (default: the first you have not passed)
  netkata solution <exercise> [--force]       the reference, once your exercise passes its hidden suite
  netkata reset <exercise> [--yes]            put the starter back (your src/ goes to .netkata/backups/)
  netkata images build [--offline] [name...]  build the grader's images ahead of time
  netkata batch <exercise> <dir>...           grade many submissions, sandboxed only (a class, a workshop)
                [--output DIR] [--shard i/n] [--resume] [--jobs N] [--stages LIST] [--artifacts DIR]
                                              reports, result files and a gradebook (JSON, CSV) in DIR;
                                              one shard of the class; skip what is graded and unchanged;
                                              N at once (at most one per core); only the stages covered
  netkata merge <gradebook.json>... --output DIR
                                              the shards' gradebooks as one
  netkata doctor [--json]                     what this machine can grade with (engine, images, netem, NFQUEUE)
  netkata calibrate --profile NAME [--json]   measure a profile's link on this machine and compare
  netkata verify <exercise> [--runs N]        grade the reference N times (default 5): each test's
                 [--profile P] [--json]       pass rate and its figures' margins to their limits
  netkata cleanup [--all] [--json]            remove what graders that died left (--all: every run)
  netkata export --learner DIR [--force]      a repository for a class: no solutions, no hidden suites

Workshops (see the README's "Running a workshop"):
  netkata workshop serve [--dir D] [--port P] [--teams a,b] [--exercises x,y] [--jobs N] [--url URL] [--title T]
                                              grade teams' uploads in the sandbox, with a live board
  netkata workshop team add NAME [--dir D]    register a team (or give it a new token): prints its join command
  netkata workshop round PROFILE [--dir D]    start a round under a profile (manifest, clean, lan, wan, lossy, ...)
  netkata workshop freeze|reveal [--dir D]    hide the standings from the room, and show them again
  netkata submit <exercise> --to URL --team NAME --token TOKEN [--submission DIR]
                                              upload to a workshop and wait for the grade (token also from NETKATA_TOKEN)

Options for test and grade:
  --submission DIR     the submission to grade (default: exercises/NN-<exercise>)
  --solution           grade the reference solution
  --suite DIR          another folder of hidden tests (an instructor's private suite)
  --runtime R          docker | local | auto (grade: auto, test: local)
  --profile NAME       run every stage under this impairment profile (clean, lan, wan, lossy,
                       satellite, chaos, blackhole) instead of the manifest's
  --impairment B       netem | userspace | auto (default auto: netem where the kernel has it)
  --seed N             seed for the impairment decisions (the report shows the one used)
  --reporter R[=FILE],...
                       pretty | json | junit | exercism (results.json v3) | gradescope
                       (results.json) | github (annotations, and the job summary when
                       GITHUB_STEP_SUMMARY is set); several at once, each to its FILE, one to
                       stdout: --reporter pretty,junit=report.xml,json=report.json
  --output FILE        where the reporter without a FILE writes instead of stdout (batch: a
                       folder, one report per submission and reporter)
  --offline            build missing images offline (debootstrap + npm), never pull
  --allow-base IMAGE   a base image Dockerfile submissions may build FROM besides the grader's
                       (repeatable; the grader's runtime and runtime-c are always allowed)
  --run-as USER        local runtime: start the submission as this unprivileged user, with a
                       bare environment (an autograder's container, as root: Gradescope)
  --all                every stage, whatever earlier ones did (default: stop at the first stage
                       that fails; batch and the junit, exercism, gradescope and github reporters always
                       grade every stage)
  --bail               stop each stage at its first failing test: the rest of that stage is not
                       run (faster feedback; the stage's points count only the tests that ran)
  --artifacts DIR      for every failed test, a folder in DIR with its transcript (text and an
                       HTML timeline), the submission's whole output and (in containers) a packet
                       capture of the test's traffic (.pcap, for tcpdump -r or Wireshark); the
                       report names them
  -v, --verbose        every failure in full (default: the first in full, the others in a line)
  --stages LIST        only these stages, e.g. 1-3 or 2,5 (the report scores just those)
  -t, --test PATTERN   only tests whose name matches
  -w, --watch          run again whenever a file of the submission changes (Ctrl-C stops)
  --debug              stack traces and DEBUG=netkata* diagnostics

Exit codes: 0 every graded test passed, 1 some failed, 2 the grader could not run.`;

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/**
 * Runs `work` holding a lifetime that is also disposed of on Ctrl-C, SIGTERM or SIGHUP (a closed
 * terminal), then exits 128 + signal. A second signal does not cut the cleanup short: it says
 * what is going on (and if the grader is killed outright, its runs' reapers finish the job).
 */
async function withLifetime<T>(work: (lifetime: Lifetime) => Promise<T>): Promise<T> {
  const lifetime = new Lifetime();
  let first: string | undefined;
  const handlers = Object.entries(SIGNALS).map(([signal, number]) => {
    const handler = () => {
      if (first) {
        process.stderr.write(`netkata: ${signal}: still cleaning up after ${first}; it ends by itself in a few seconds\n`);
        return;
      }
      first = signal;
      process.stderr.write(`netkata: ${signal}: cleaning up...\n`);
      void lifetime.dispose().finally(() => process.exit(128 + number));
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  try {
    return await work(lifetime);
  } finally {
    await lifetime.dispose();
    // --watch calls this once per run: leave no handler behind for the next.
    if (!first) for (const [signal, handler] of handlers) process.off(signal, handler);
  }
}

/** Another netkata command as a child process, on this terminal: what watch mode's keys run. */
function runCli(args: readonly string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/netkata.js', import.meta.url)), ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
}

/** The first exercise without a passing hidden grade, by the progress file; the first one if none is recorded. */
async function firstUnfinished(): Promise<string | undefined> {
  const [{ listExercises }, { loadProgress }] = await Promise.all([import('./catalog/catalog.ts'), import('./learner/progress-state.ts')]);
  const [all, progress] = await Promise.all([listExercises(), loadProgress()]);
  return (all.find((e) => !progress.exercises[e.manifest.id]?.completed) ?? all[0])?.manifest.id;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      submission: { type: 'string' },
      solution: { type: 'boolean', default: false },
      suite: { type: 'string' },
      runtime: { type: 'string' },
      reporter: { type: 'string', default: 'pretty' },
      output: { type: 'string' },
      offline: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      test: { type: 'string', short: 't' },
      stages: { type: 'string' },
      profile: { type: 'string' },
      impairment: { type: 'string' },
      seed: { type: 'string' },
      runs: { type: 'string' },
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      bail: { type: 'boolean', default: false },
      'allow-base': { type: 'string', multiple: true },
      watch: { type: 'boolean', short: 'w', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      yes: { type: 'boolean', short: 'y', default: false },
      debug: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      to: { type: 'string' },
      team: { type: 'string' },
      token: { type: 'string' },
      dir: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      url: { type: 'string' },
      teams: { type: 'string' },
      exercises: { type: 'string' },
      jobs: { type: 'string' },
      'run-as': { type: 'string' },
      shard: { type: 'string' },
      resume: { type: 'boolean', default: false },
      title: { type: 'string' },
      artifacts: { type: 'string' },
      learner: { type: 'string' },
    },
  });
  if (values.debug) process.env.DEBUG ||= 'netkata*';
  const [command, ...rest] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!command) {
    const { overview } = await import('./commands/overview.ts');
    process.stdout.write(await overview({ color: process.stdout.isTTY === true && !process.env.NO_COLOR }));
    return 0;
  }
  const buildMode = values.offline ? 'offline' : 'auto';
  const impairment = values.impairment ?? 'auto';
  if (impairment !== 'auto' && impairment !== 'netem' && impairment !== 'userspace')
    throw new ConfigError(`--impairment must be netem, userspace or auto, not "${impairment}"`);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 31))
    throw new ConfigError(`--seed must be an integer from 0 to 2^31-1, not "${values.seed}"`);

  switch (command) {
    case 'list': {
      const { list } = await import('./commands/list.ts');
      await list(values.json);
      return 0;
    }
    case 'images': {
      if (rest[0] !== 'build') throw new ConfigError('usage: netkata images build [--offline] [--force] [name...]');
      const { buildImages } = await import('./commands/images.ts');
      await buildImages({ names: rest.slice(1), buildMode, force: values.force });
      return 0;
    }
    case 'doctor': {
      const { doctor, renderDoctor } = await import('./commands/doctor.ts');
      const report = await doctor();
      process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report));
      return report.ok ? 0 : 2;
    }
    case 'calibrate': {
      if (!values.profile) throw new ConfigError('usage: netkata calibrate --profile NAME [--runtime docker|local] [--json]');
      const runtime = values.runtime ?? 'docker';
      if (runtime !== 'docker' && runtime !== 'local') throw new ConfigError(`calibrate --runtime must be docker or local, not "${runtime}"`);
      const [{ calibrate }, { describeCalibration }] = await Promise.all([import('./commands/calibrate.ts'), import('./impairment/calibrate.ts')]);
      const calibration = await withLifetime((lifetime) =>
        calibrate({ profile: values.profile!, runtime, impairment, seed: seed ?? Math.floor(Math.random() * 2 ** 31), buildMode, lifetime }),
      );
      process.stdout.write(
        values.json
          ? `${JSON.stringify(calibration, null, 2)}\n`
          : `${calibration.profile} on ${calibration.backend}: ${calibration.ok ? 'ok' : 'FAILED'}\n${describeCalibration(calibration)}\n`,
      );
      return calibration.ok ? 0 : 2;
    }
    case 'cleanup': {
      const { cleanup, renderCleanup } = await import('./commands/cleanup.ts');
      const result = await cleanup({ all: values.all });
      process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : renderCleanup(result));
      return 0;
    }
    case 'batch': {
      const [exercise, ...submissions] = rest;
      if (!exercise || submissions.length === 0)
        throw new ConfigError(
          'usage: netkata batch <exercise> <submission-dir>... [--output DIR] [--reporter R,...] [--shard i/n] [--resume] [--jobs N] [--json]',
        );
      const { parseReporterNames } = await import('./report/reporters.ts');
      const reporters = parseReporterNames(values.reporter);
      const [{ gradeBatch, parseShard, renderBatch }, { parseJobs }] = await Promise.all([import('./commands/batch.ts'), import('./commands/jobs.ts')]);
      const summary = await withLifetime(async (lifetime) =>
        gradeBatch({
          exercise,
          submissions,
          runtime: values.runtime ?? 'docker',
          reporters,
          outputDir: values.output,
          ...(values.shard !== undefined && { shard: parseShard(values.shard) }),
          resume: values.resume,
          jobs: parseJobs(values.jobs),
          ...(values.stages !== undefined && { stages: values.stages }),
          ...(values.artifacts !== undefined && { artifacts: values.artifacts }),
          profile: values.profile,
          impairment,
          seed,
          buildMode,
          allowBases: values['allow-base'],
          lifetime,
        }),
      );
      process.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : renderBatch(summary));
      const statuses = summary.submissions.map((e) => e.status);
      return statuses.includes('error') ? 2 : statuses.includes('fail') ? 1 : 0;
    }
    case 'merge': {
      if (rest.length === 0 || !values.output) throw new ConfigError('usage: netkata merge <gradebook.json or folder>... --output DIR');
      const [{ mergeGradebooks }, { renderBatch }] = await Promise.all([import('./commands/merge.ts'), import('./commands/batch.ts')]);
      const book = await mergeGradebooks(rest, values.output);
      process.stdout.write(
        values.json
          ? `${JSON.stringify(book, null, 2)}\n`
          : renderBatch({ exercise: book.exercise, seed: book.seed, submissions: book.rows, gradebook: `${values.output}/gradebook.json` }),
      );
      return 0;
    }
    case 'verify': {
      const named = rest[0];
      if (!named || rest.length > 1)
        throw new ConfigError('usage: netkata verify <exercise> [--runs N] [--profile NAME] [--stages LIST] [-t PATTERN] [--json] [--output FILE]');
      const runs = values.runs === undefined ? 5 : Number(values.runs);
      const runtime = values.runtime ?? 'docker';
      if (runtime !== 'docker' && runtime !== 'local') throw new ConfigError(`verify --runtime must be docker or local, not "${runtime}"`);
      const { verify, renderVerify } = await import('./commands/verify.ts');
      const report = await withLifetime((lifetime) =>
        verify({
          exercise: named,
          runs,
          runtime,
          buildMode,
          impairment,
          lifetime,
          progress: true,
          ...(values.profile && { profile: values.profile }),
          ...(values.stages && { stages: values.stages }),
          ...(values.test && { testNamePattern: values.test }),
        }),
      );
      const text = values.json ? `${JSON.stringify(report, null, 2)}\n` : renderVerify(report);
      if (values.output) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(values.output, text);
        notice(`verify: report written to ${values.output}`);
      } else process.stdout.write(text);
      return report.graderErrors.length > 0 ? 2 : report.stable ? 0 : 1;
    }
    case 'watch':
    case 'grade':
    case 'test': {
      // `watch [exercise]` is `test --watch`, on the first exercise not done yet when none is named.
      const watching = command === 'watch' || values.watch;
      const named = rest[0] ?? (command === 'watch' ? await firstUnfinished() : undefined);
      if (!named) throw new ConfigError(`usage: netkata ${command} <exercise> [options]`);
      let exercise: string = named;
      // A directory after the exercise would otherwise grade the starter without a word.
      if (rest.length > 1) throw new ConfigError(`unexpected argument "${rest[1]}": name a submission with --submission ${rest[1]}`);
      // Visible tests of one's own exercise run as a local process; a folder that may be someone
      // else's (--submission) runs sandboxed unless --runtime local says otherwise.
      const visible = command !== 'grade';
      const runtime = values.runtime ?? (visible && !values.submission ? 'local' : 'auto');
      if (runtime !== 'auto' && runtime !== 'docker' && runtime !== 'local') throw new ConfigError(`--runtime must be docker, local or auto, not "${runtime}"`);
      const { CI_REPORTERS, parseReporters, writeReports } = await import('./report/reporters.ts');
      const targets = parseReporters(values.reporter, values.output);
      const { grade } = await import('./commands/grade.ts');
      const once = () =>
        withLifetime(async (lifetime) => {
          const report = await grade({
            exercise,
            submission: values.submission,
            solution: values.solution,
            suite: values.suite,
            visible,
            runtime,
            buildMode,
            allowBases: values['allow-base'],
            ...(values['run-as'] !== undefined && { runAs: values['run-as'] }),
            testNamePattern: values.test,
            stages: values.stages,
            profile: values.profile,
            impairment,
            seed,
            lifetime,
            progress: true,
            // CI formats are read by instructors and CI dashboards: every stage, for partial credit.
            all: values.all || targets.some((t) => CI_REPORTERS.has(t.reporter)),
            bail: values.bail,
            ...(values.artifacts !== undefined && { artifacts: values.artifacts }),
          });
          const again = [
            'npx netkata',
            visible ? 'test' : 'grade',
            exercise,
            ...(values.submission ? ['--submission', values.submission] : []),
            ...(values.solution ? ['--solution'] : []),
          ].join(' ');
          await writeReports(report, targets, { verbose: values.verbose, again });
          const { recordResult } = await import('./learner/progress-state.ts');
          await recordResult(report, {
            kind: visible ? 'test' : 'grade',
            own: !values.submission && !values.solution,
            // --bail leaves tests out: its points are a lower bound, not the exercise's score.
            complete: !values.stages && !values.test && !values.suite && !values.profile && !values.bail,
          });
          return report.status === 'pass' ? 0 : report.status === 'fail' ? 1 : 2;
        });
      if (!watching) return await once();
      const [{ watchAndRerun }, { findExercise, listExercises }] = await Promise.all([import('./commands/watch.ts'), import('./catalog/catalog.ts')]);
      let found = await findExercise(exercise);
      const own = !values.submission && !values.solution;
      const dirs = () => [values.submission ?? (values.solution ? found.solutionDir : found.exerciseDir)];
      return await watchAndRerun(
        dirs,
        async () => {
          if (process.stdout.isTTY) process.stdout.write('\x1bc');
          await once().catch((error: Error) => notice(error.message));
        },
        {
          poll: process.env.NETKATA_WATCH === 'poll',
          onKey: async (key) => {
            const extra = [...(values.submission ? ['--submission', values.submission] : []), ...(values.solution ? ['--solution'] : [])];
            const args = { hint: ['hint', found.manifest.id], list: ['list'], grade: ['grade', found.manifest.id, ...extra] }[key];
            const code = await runCli(args);
            // rustlings moves on once an exercise is done: here, once its hidden suite passes.
            if (key === 'grade' && code === 0 && own) {
              const all = await listExercises();
              const next = all[all.findIndex((e) => e.folder === found.folder) + 1];
              if (next) {
                notice(`${found.manifest.id} passes its hidden suite: on to ${next.manifest.id} (${path.relative(process.cwd(), next.exerciseDir)}/README.md)`);
                found = next;
                exercise = next.manifest.id;
              } else notice(`${found.manifest.id} passes its hidden suite, and it was the last exercise: every kata is done`);
            }
          },
        },
      );
    }
    case 'submit': {
      const exercise = rest[0];
      const token = values.token ?? process.env.NETKATA_TOKEN;
      if (!exercise || rest.length > 1 || !values.to || !values.team || !token)
        throw new ConfigError(
          'usage: netkata submit <exercise> --to URL --team NAME --token TOKEN [--submission DIR] (your join command has all three; the token may be in NETKATA_TOKEN)',
        );
      const { submit } = await import('./commands/submit.ts');
      return await submit({
        to: values.to,
        team: values.team,
        token,
        exercise,
        ...(values.submission && { submission: values.submission }),
        color: process.stdout.isTTY === true && !process.env.NO_COLOR,
      });
    }
    case 'workshop': {
      const dir = values.dir ?? 'workshop';
      const workshop = await import('./commands/workshop.ts');
      const [action, ...args] = rest;
      if (action === 'serve' && args.length === 0) {
        if (values.runtime && values.runtime !== 'docker')
          throw new ConfigError(
            `a workshop grades other people's code, so only sandboxed, in containers; --runtime ${values.runtime} would run it unsandboxed on this machine`,
          );
        const port = values.port === undefined ? workshop.DEFAULT_WORKSHOP_PORT : Number(values.port);
        if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`--port must be a port number, not "${values.port}"`);
        const jobs = (await import('./commands/jobs.ts')).parseJobs(values.jobs);
        const list = (text: string | undefined) =>
          (text ?? '')
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean);
        return await withLifetime(async (lifetime) => {
          await workshop.serveWorkshop({
            dir,
            port,
            host: values.host ?? '0.0.0.0',
            ...(values.url && { url: values.url }),
            teams: list(values.teams),
            exercises: list(values.exercises),
            jobs,
            ...(values.title && { title: values.title }),
            buildMode,
            impairment,
            lifetime,
          });
          // Serves until Ctrl-C: the signal handler disposes of the lifetime (server, store) and exits.
          return await new Promise<number>(() => {});
        });
      }
      if (action === 'team' && args[0] === 'add' && args.length === 2) {
        process.stdout.write(await workshop.addTeam(dir, args[1]!));
        return 0;
      }
      if (action === 'round' && args.length === 1) {
        process.stdout.write(await workshop.startRound(dir, args[0]!));
        return 0;
      }
      if ((action === 'freeze' || action === 'reveal') && args.length === 0) {
        process.stdout.write(await workshop.setFrozen(dir, action === 'freeze'));
        return 0;
      }
      throw new ConfigError('usage: netkata workshop serve|team add NAME|round PROFILE|freeze|reveal [--dir D] (see netkata --help)');
    }
    case 'hint': {
      if (!rest[0]) throw new ConfigError('usage: netkata hint <exercise> [stage] [--all]');
      const { hint } = await import('./commands/hint.ts');
      process.stdout.write(await hint(rest[0], rest[1], values.all));
      return 0;
    }
    case 'solution': {
      if (!rest[0]) throw new ConfigError('usage: netkata solution <exercise> [--force]');
      const { solution } = await import('./commands/solution.ts');
      const shown = await solution(rest[0], values.force);
      process.stdout.write(shown.text);
      return shown.code;
    }
    case 'export': {
      if (!values.learner || rest.length > 0)
        throw new ConfigError("usage: netkata export --learner DIR [--force] (a learner's copy: no solutions, no hidden suites)");
      const { exportLearner, renderExport } = await import('./commands/export.ts');
      process.stdout.write(renderExport(await exportLearner(values.learner, { force: values.force })));
      return 0;
    }
    case 'reset': {
      if (!rest[0]) throw new ConfigError('usage: netkata reset <exercise> [--yes]');
      const { reset } = await import('./commands/reset.ts');
      process.stdout.write(await reset(rest[0], values.yes));
      return 0;
    }
    default:
      throw new ConfigError(`unknown command "${command}"; see netkata --help`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const debug = process.argv.includes('--debug');
  // Messages may quote a submission's folder names or files: printed visibly, never interpreted.
  if (error instanceof GraderError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    notice((error as Error).message);
    if (debug) process.stderr.write(`${visibleText((error as Error).stack ?? '')}\n`);
  } else {
    notice(`unexpected error: ${debug ? (error as Error).stack : (error as Error).message} (--debug for the stack)`);
  }
  process.exitCode = 2;
}
