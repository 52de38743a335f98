import { InfrastructureError } from '../../errors.ts';
import { logger } from '../../log.ts';
import { demultiplexLogs } from '../log-tail.ts';
import type { DockerEngine } from './engine.ts';
import { LABEL_ROLE, runLabels } from './labels.ts';

const log = logger('docker');

/**
 * The rule that keeps a run's containers away from the engine's host. An internal network has
 * no route out, but the host's own addresses (the bridge's gateway, and every other address
 * through it) still answer containers on it. New connections that arrive from the run's bridge
 * are dropped in the host's INPUT chain; replies to connections the tests open are established
 * and pass.
 */
function rule(action: '-I' | '-D', bridge: string, runId: string): string {
  return `$t -w ${action} INPUT -i ${bridge} -m conntrack --ctstate NEW -m comment --comment netkata-${runId} -j DROP`;
}

/**
 * iptables-legacy when the host uses it (or both work), iptables-nft otherwise: rules in either
 * drop. IPv6 too, wherever the host has it: a container reaches the bridge's link-local address
 * (fe80::...) even on an IPv4-only network, and an IPv4 rule does not see it.
 */
const PICK_IPTABLES = [
  'if iptables-legacy -w -L INPUT -n >/dev/null 2>&1; then ipt=iptables-legacy; ip6t=ip6tables-legacy; else ipt=iptables-nft; ip6t=ip6tables-nft; fi',
  'tables=$ipt; if [ -e /proc/net/if_inet6 ]; then tables="$ipt $ip6t"; fi',
].join('; ');

/** Runs `script` once per table in force, with $t naming it; fails if any run fails. */
const eachTable = (script: string) => `for t in $tables; do ${script} || exit 1; done`;

async function onHost(engine: DockerEngine, image: string, runId: string, script: string): Promise<string> {
  const container = await engine.dockerode.createContainer({
    Image: image,
    Cmd: ['sh', '-c', `${PICK_IPTABLES}; ${script}`],
    Labels: { ...runLabels(runId), [LABEL_ROLE]: 'host-guard' },
    HostConfig: { NetworkMode: 'host', CapDrop: ['ALL'], CapAdd: ['NET_ADMIN', 'NET_RAW'], SecurityOpt: ['no-new-privileges:true'] },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) {
      const output = demultiplexLogs(await container.logs({ stdout: true, stderr: true })).lines(10);
      throw new InfrastructureError(`could not change the host's firewall for run ${runId} (exit ${StatusCode}): ${output}`);
    }
    return demultiplexLogs(await container.logs({ stdout: true, stderr: true })).lines(200);
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/**
 * Rules of runs whose bridge is gone (a grader killed before its teardown): harmless, but they
 * would pile up, so each new run removes them first.
 */
const DROP_ORPHANS = `for t in $tables; do $t -w -S INPUT | grep -- '--comment netkata-' | while read -r line; do dev=$(echo "$line" | sed -n 's/.*-i \\([^ ]*\\).*/\\1/p'); [ -n "$dev" ] && [ ! -e "/sys/class/net/$dev" ] && eval "$t -w $(echo "$line" | sed 's/^-A /-D /')"; done; done; true`;

/** The host's rules that netkata installed, one per line (`-A INPUT ... --comment netkata-RUN -j DROP`). */
const LIST_RULES = `for t in $tables; do $t -w -S INPUT | grep -- '--comment netkata-' | sed "s/^/$t /"; done; true`;

/** What it takes to remove a run's rule: plain data, so a reaper process can do it too. */
export interface HostGuardInfo {
  readonly image: string;
  readonly bridge: string;
  readonly runId: string;
}

/** Installs the rules. Remove them only once the run's containers are gone (StartedRun does). */
export async function guardHost(engine: DockerEngine, guard: HostGuardInfo): Promise<void> {
  log(`Closing the host to containers on ${guard.bridge}...`);
  await onHost(engine, guard.image, guard.runId, `${DROP_ORPHANS}; ${eachTable(rule('-I', guard.bridge, guard.runId))}`);
}

export async function unguardHost(engine: DockerEngine, guard: HostGuardInfo): Promise<void> {
  log(`Removing the host rules for ${guard.bridge}...`);
  await onHost(engine, guard.image, guard.runId, `for t in $tables; do while ${rule('-D', guard.bridge, guard.runId)} 2>/dev/null; do :; done; done`);
}

/** Removes the rules of runs whose bridge is gone; returns the rules still in force. */
export async function sweepHostRules(engine: DockerEngine, image: string, runId: string): Promise<string[]> {
  const output = await onHost(engine, image, runId, `${DROP_ORPHANS}; ${LIST_RULES}`);
  return output.split('\n').filter((line) => line.includes('--comment netkata-'));
}
