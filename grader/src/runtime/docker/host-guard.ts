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
  return `$ipt -w ${action} INPUT -i ${bridge} -m conntrack --ctstate NEW -m comment --comment netkata-${runId} -j DROP`;
}

/** iptables-legacy when the host uses it (or both work), iptables-nft otherwise: rules in either drop. */
const PICK_IPTABLES = 'if iptables-legacy -w -L INPUT -n >/dev/null 2>&1; then ipt=iptables-legacy; else ipt=iptables-nft; fi';

async function onHost(engine: DockerEngine, image: string, runId: string, script: string): Promise<void> {
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
      const output = demultiplexLogs((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer).lines(10);
      throw new InfrastructureError(`could not change the host's firewall for run ${runId} (exit ${StatusCode}): ${output}`);
    }
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/**
 * Rules of runs whose bridge is gone (a grader killed before its teardown): harmless, but they
 * would pile up, so each new run removes them first.
 */
const DROP_ORPHANS = `$ipt -w -S INPUT | grep -- '--comment netkata-' | while read -r line; do dev=$(echo "$line" | sed -n 's/.*-i \\([^ ]*\\).*/\\1/p'); [ -n "$dev" ] && [ ! -e "/sys/class/net/$dev" ] && eval "$ipt -w $(echo "$line" | sed 's/^-A /-D /')"; done; true`;

/** Installs the rule; returns its removal, for the run's teardown. */
export async function guardHost(engine: DockerEngine, image: string, bridge: string, runId: string): Promise<() => Promise<void>> {
  log(`Closing the host to containers on ${bridge}...`);
  await onHost(engine, image, runId, `${DROP_ORPHANS}; ${rule('-I', bridge, runId)}`);
  return () => onHost(engine, image, runId, `while ${rule('-D', bridge, runId)} 2>/dev/null; do :; done`);
}
