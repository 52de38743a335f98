// Global setup of the project's tests: after the whole run, nothing that the tests' grading runs
// created may remain: no container, network, volume or image with a run label, no host firewall
// rule, no work folder. Runs of unrelated graders on the same machine (another developer's) are
// not ours to judge; everything started under this test process is.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findLeftovers, type Leftovers } from '../src/commands/cleanup.ts';
import { DockerEngine } from '../src/runtime/docker/engine.ts';
import { LABEL_OWNER, LABEL_RUN } from '../src/runtime/docker/labels.ts';

/** How long the last graders' reapers get to finish (they remove a run within seconds). */
const SETTLE_MS = 15_000;

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ours: created under this process, or by a process that is gone (only a leak leaves those). */
function ours(ownerPid: number): boolean {
  if (!isAlive(ownerPid)) return true;
  for (let pid: number | undefined = ownerPid; pid && pid > 1; pid = parentOf(pid)) if (pid === process.pid) return true;
  return false;
}

async function ownersOfRuns(engine: DockerEngine): Promise<Map<string, number>> {
  const filters = { label: [LABEL_RUN] };
  const d = engine.dockerode;
  const all = [
    ...(await d.listContainers({ all: true, filters })),
    ...(await d.listNetworks({ filters })),
    ...((await d.listVolumes({ filters })).Volumes ?? []),
    ...(await d.listImages({ filters })),
  ];
  const owners = new Map<string, number>();
  for (const resource of all) {
    const labels = (resource.Labels ?? {}) as Record<string, string>;
    owners.set(labels[LABEL_RUN]!, Number(labels[LABEL_OWNER]?.split(':')[1]));
  }
  return owners;
}

/** The local runtime's state folders (`netkata-state-<pid>-…`), with the pid of the worker that made them. */
function stateFolders(): Map<string, number> {
  const found = new Map<string, number>();
  for (const name of readdirSync(os.tmpdir())) {
    const pid = /^netkata-state-(\d+)-/.exec(name)?.[1];
    if (pid) found.set(name, Number(pid));
  }
  return found;
}

let before: Leftovers | undefined;
let statesBefore: Map<string, number> | undefined;

/** Several projects list this setup (integration, each exercise's check): one check covers them all. */
const ONCE = Symbol.for('netkata.leak-check');

export async function setup(): Promise<() => Promise<void>> {
  const registry = globalThis as { [ONCE]?: true };
  // vitest tears every project's setup down only once all of them have run their tests.
  if (registry[ONCE]) return async () => {};
  registry[ONCE] = true;
  const engine = await DockerEngine.connect();
  before = await findLeftovers(engine);
  statesBefore = stateFolders();
  return async () => {
    // The run's scratch calibration cache (vitest.config.ts names it by this process's pid).
    rmSync(path.join(os.tmpdir(), `netkata-test-cache-${process.pid}`), { recursive: true, force: true });
    const fresh = (leftovers: Leftovers, owners: Map<string, number>) => ({
      runs: leftovers.runs.filter((r) => !before!.runs.includes(r) && ours(owners.get(r) ?? 0)),
      firewallRules: leftovers.firewallRules.filter(
        (rule) => !before!.firewallRules.includes(rule) && ours(owners.get(/--comment netkata-(\S+)/.exec(rule)?.[1] ?? '') ?? 0),
      ),
      workDirs: [
        ...leftovers.workDirs.filter((d) => !before!.workDirs.includes(d) && !leftovers.runs.some((r) => d.includes(r) && !ours(owners.get(r) ?? 0))),
        ...[...stateFolders()]
          .filter(([name, pid]) => !statesBefore!.has(name) && ours(pid))
          .map(([name]) => `${os.tmpdir()}/${name} (the local runtime's state)`),
      ],
    });
    let leaked = fresh(await findLeftovers(engine), await ownersOfRuns(engine));
    for (const deadline = Date.now() + SETTLE_MS; Date.now() < deadline && Object.values(leaked).some((l) => l.length > 0);) {
      await sleep(1_000);
      leaked = fresh(await findLeftovers(engine), await ownersOfRuns(engine));
    }
    const lines = [
      ...leaked.runs.map((r) => `run ${r}: containers, networks, volumes or images with its label`),
      ...leaked.firewallRules.map((r) => `host firewall rule: ${r}`),
      ...leaked.workDirs.map((d) => `work folder: ${d}`),
    ];
    if (lines.length > 0) {
      // vitest reports an error thrown here but still exits 0: the exit code is set by hand.
      process.stderr.write(`leak check FAILED: the tests' grading runs left behind ${lines.length} things:\n  ${lines.join('\n  ')}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write('leak check: nothing the tests created is left (containers, networks, volumes, images, firewall rules, work and state folders)\n');
  };
}
