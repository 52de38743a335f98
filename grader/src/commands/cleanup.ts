import { readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DockerEngine } from '../runtime/docker/engine.ts';
import { sweepHostRules } from '../runtime/docker/host-guard.ts';
import { LABEL_RUN, ownerState, WORK_DIR_OWNER_FILE } from '../runtime/docker/labels.ts';
import { loadImage } from '../images/image-spec.ts';
import { notice } from '../log.ts';

const RUN_DIR = /^netkata-([0-9a-z]+-[0-9a-f]{6})-/;

/** Work folders of graders on another host or in another PID namespace are stale only this old. */
const FOREIGN_STALE_MS = 6 * 60 * 60_000;

export interface Leftovers {
  readonly runs: readonly string[];
  readonly firewallRules: readonly string[];
  readonly workDirs: readonly string[];
}

export interface CleanupResult {
  readonly removedRuns: number;
  readonly removedWorkDirs: number;
  /** What is still there: live runs (or, with all, nothing). */
  readonly remaining: Leftovers;
}

/** Every run id that has a container, network, volume or image on the engine. */
async function runsOnEngine(engine: DockerEngine): Promise<string[]> {
  const filters = { label: [LABEL_RUN] };
  const d = engine.dockerode;
  const [containers, networks, volumes, images] = await Promise.all([
    d.listContainers({ all: true, filters }),
    d.listNetworks({ filters }),
    d.listVolumes({ filters }),
    d.listImages({ filters }),
  ]);
  const labelled = [...containers, ...networks, ...(volumes.Volumes ?? []), ...images].map((r) => (r.Labels as Record<string, string> | null)?.[LABEL_RUN]);
  return [...new Set(labelled.filter((run): run is string => Boolean(run)))].sort();
}

/** Work folders of runs, with whether their owner is gone. */
async function workDirs(): Promise<Array<{ dir: string; stale: boolean }>> {
  const tmp = os.tmpdir();
  const found: Array<{ dir: string; stale: boolean }> = [];
  for (const name of await readdir(tmp).catch(() => [])) {
    if (!RUN_DIR.test(name)) continue;
    const dir = path.join(tmp, name);
    // Missing or not whole (a grader that wrote it before the atomic write, or a broken one): an
    // owner unknown, so the folder is stale only once it is old.
    const labels = await readFile(path.join(dir, WORK_DIR_OWNER_FILE), 'utf8').then(
      (t) => {
        try {
          return JSON.parse(t) as Record<string, string>;
        } catch {
          return undefined;
        }
      },
      () => undefined,
    );
    const state = ownerState(labels);
    const ageMs = Date.now() - ((await stat(dir).catch(() => undefined))?.mtimeMs ?? Date.now());
    found.push({ dir, stale: state === 'gone' || (state === 'unknown' && ageMs > FOREIGN_STALE_MS) });
  }
  return found;
}

/**
 * What grading runs left on this machine and its engine. After a test run, or any grader that
 * ended, this must be empty: the leak check of the project's tests asks it.
 */
export async function findLeftovers(engine: DockerEngine): Promise<Leftovers> {
  // The rules live in the host's network namespace: read through the impair image, if it is built.
  const impair = (await loadImage('impair')).tag;
  const rules = (await engine.imageExists(impair)) ? await sweepHostRules(engine, impair, `cleanup-${process.pid}`) : [];
  return { runs: await runsOnEngine(engine), firewallRules: rules, workDirs: (await workDirs()).map((w) => w.dir) };
}

/**
 * `netkata cleanup`: removes what graders that are gone left behind (their reapers normally do
 * it within seconds), or, with `all`, every run, live ones included.
 */
export async function cleanup(options: { readonly all: boolean }): Promise<CleanupResult> {
  const engine = await DockerEngine.connect();
  let removedRuns = 0;
  if (options.all) {
    for (const run of await runsOnEngine(engine)) {
      notice(`removing run ${run}`);
      await engine.removeRun(run);
      removedRuns++;
    }
  } else {
    removedRuns = await engine.sweepStale();
  }
  let removedWorkDirs = 0;
  for (const { dir, stale } of await workDirs()) {
    if (!stale && !options.all) continue;
    await rm(dir, { recursive: true, force: true });
    removedWorkDirs++;
  }
  return { removedRuns, removedWorkDirs, remaining: await findLeftovers(engine) };
}

export function renderCleanup(result: CleanupResult): string {
  const { remaining } = result;
  const lines = [`removed ${result.removedRuns} runs and ${result.removedWorkDirs} work folders`];
  if (remaining.runs.length > 0) lines.push(`runs still there (their graders are alive): ${remaining.runs.join(', ')}`);
  if (remaining.firewallRules.length > 0)
    lines.push(`host firewall rules still in force (their runs are alive):`, ...remaining.firewallRules.map((r) => `  ${r}`));
  if (remaining.workDirs.length > 0) lines.push(`work folders still there:`, ...remaining.workDirs.map((d) => `  ${d}`));
  return `${lines.join('\n')}\n`;
}
