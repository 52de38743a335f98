import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

/** Every container, network and image a run creates carries these, so nothing can be left behind unnoticed. */
export const LABEL_MANAGED = 'netkata.managed';
export const LABEL_RUN = 'netkata.run';
export const LABEL_OWNER = 'netkata.owner';
/**
 * Which process, exactly: its PID namespace and start time. A pid alone is ambiguous across PID
 * namespaces (two graders in two CI containers) and after the pid is reused.
 */
const LABEL_OWNER_PROCESS = 'netkata.owner.process';
export const LABEL_ROLE = 'netkata.role';

/** In a run's work folder (`netkata-<run id>-XXXXXX` in the temporary folder): its owner's labels. */
export const WORK_DIR_OWNER_FILE = 'owner.json';

/** `pid:[4026531836]` and the start time in clock ticks since boot; undefined off Linux. */
function processIdentity(pid: number): { namespace: string; startTicks: string } | undefined {
  try {
    const namespace = readlinkSync(`/proc/${pid}/ns/pid`);
    // Field 22 of stat; the command name (field 2) may hold spaces and parentheses, so count from the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return startTicks ? { namespace, startTicks } : undefined;
  } catch {
    return undefined;
  }
}

export function runLabels(runId: string, ownerPid = process.pid): Record<string, string> {
  const identity = processIdentity(ownerPid);
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_RUN]: runId,
    // host:pid of the grader process that owns the run; the sweep removes runs whose owner is gone.
    [LABEL_OWNER]: `${os.hostname()}:${ownerPid}`,
    ...(identity ? { [LABEL_OWNER_PROCESS]: `${identity.namespace}:${identity.startTicks}` } : {}),
  };
}

export type OwnerState = 'alive' | 'gone' | 'unknown';

/**
 * Whether the process that owns a run still runs, as far as this process can tell: on another
 * host, or in another PID namespace, it cannot ('unknown').
 */
export function ownerState(labels: Readonly<Record<string, string>> | undefined): OwnerState {
  const [host, pidText] = (labels?.[LABEL_OWNER] ?? '').split(':');
  const pid = Number(pidText);
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0) return 'unknown';
  const recorded = labels?.[LABEL_OWNER_PROCESS];
  const mine = processIdentity(process.pid);
  if (recorded && mine) {
    const namespace = recorded.slice(0, recorded.lastIndexOf(':'));
    if (namespace !== mine.namespace) return 'unknown';
    const now = processIdentity(pid);
    return now && `${now.namespace}:${now.startTicks}` === recorded ? 'alive' : 'gone';
  }
  if (pid === process.pid) return 'alive';
  try {
    process.kill(pid, 0);
    return 'alive';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : 'alive';
  }
}
