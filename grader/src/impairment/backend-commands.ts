import type { DirectionName, LinkDirection, LinkSpec } from './profile.ts';

/** How impairments reach packets. `relay` is the local runtime's stand-in, at reduced fidelity. */
export type ImpairmentBackend = 'netem' | 'userspace' | 'relay';
export type BackendChoice = 'auto' | 'netem' | 'userspace';

/** The NFQUEUE queue the userspace engine reads, and the mark its own re-injected copies carry. */
export const ENGINE_QUEUE = 0;
export const ENGINE_MARK = '0x4e4b';

const DIRECTIONS: readonly DirectionName[] = ['egress', 'ingress'];

function probability(percent: number): string {
  return (percent / 100).toFixed(6);
}

/**
 * The userspace engine's config file (containers/impair/netkata-engine.c): `key=value` lines per
 * direction. `partitioned` drops everything, both ways.
 */
export function engineConfig(link: LinkSpec, generation: number, seed: number, partitioned = false): string {
  const lines = [`generation=${generation}`, `seed=${seed}`];
  for (const name of DIRECTIONS) {
    const d = link[name];
    lines.push(
      `${name}.delay_us=${Math.round(d.delayMs * 1000)}`,
      `${name}.jitter_us=${Math.round(d.jitterMs * 1000)}`,
      `${name}.distribution=${d.distribution}`,
      `${name}.loss=${probability(d.lossPercent)}`,
      `${name}.duplicate=${probability(d.duplicatePercent)}`,
      `${name}.reorder=${probability(d.reorderPercent)}`,
      `${name}.corrupt=${probability(d.corruptPercent)}`,
      `${name}.partition=${partitioned ? 1 : 0}`,
    );
    if (d.burstLoss) {
      lines.push(
        `${name}.ge_p=${probability(d.burstLoss.enterBadPercent)}`,
        `${name}.ge_r=${probability(d.burstLoss.leaveBadPercent)}`,
        `${name}.ge_bad_loss=${probability(d.burstLoss.badLossPercent)}`,
        `${name}.ge_good_loss=${probability(d.burstLoss.goodLossPercent)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `netkata-link rate DIRECTION KBIT` for each direction (0 removes the limit). */
export function rateCommands(link: LinkSpec): string[][] {
  return DIRECTIONS.map((name) => ['netkata-link', 'rate', name, String(link[name].rateKbit ?? 0)]);
}

/** netem's arguments for one direction, e.g. `delay 20ms 5ms distribution normal loss random 2%`. */
export function netemArguments(d: LinkDirection, partitioned = false): string[] {
  // A large limit: netem's default of 1,000 packets drops on its own once delay x rate exceeds it.
  const args = ['limit', '100000'];
  if (partitioned) return [...args, 'loss', 'random', '100%'];
  if (d.delayMs > 0 || d.jitterMs > 0) {
    args.push('delay', `${d.delayMs}ms`);
    if (d.jitterMs > 0) args.push(`${d.jitterMs}ms`, 'distribution', d.distribution);
  }
  if (d.burstLoss) {
    const { enterBadPercent, leaveBadPercent, badLossPercent, goodLossPercent } = d.burstLoss;
    // netem's gemodel takes p, r, 1-h (loss when bad) and 1-k (loss when good).
    args.push('loss', 'gemodel', `${enterBadPercent}%`, `${leaveBadPercent}%`, `${badLossPercent}%`, `${goodLossPercent}%`);
  } else if (d.lossPercent > 0) {
    args.push('loss', 'random', `${d.lossPercent}%`);
  }
  if (d.duplicatePercent > 0) args.push('duplicate', `${d.duplicatePercent}%`);
  if (d.reorderPercent > 0) args.push('reorder', `${d.reorderPercent}%`);
  if (d.corruptPercent > 0) args.push('corrupt', `${d.corruptPercent}%`);
  if (d.rateKbit) args.push('rate', `${d.rateKbit}kbit`);
  return args;
}

/**
 * One-time setup for the netem backend inside the target's namespace: segmentation offloads
 * off (so loss and duplication act on real packets, not 64 KiB super-packets), and an ifb
 * device that ingress traffic is redirected through, so it can be shaped like egress.
 */
export function netemSetupCommands(): string[][] {
  return [
    ['sh', '-c', 'ethtool -K eth0 tso off gso off gro off 2>/dev/null || true'],
    ['ip', 'link', 'add', 'ifb0', 'type', 'ifb'],
    ['ip', 'link', 'set', 'ifb0', 'up'],
    ['tc', 'qdisc', 'add', 'dev', 'eth0', 'handle', 'ffff:', 'ingress'],
    [
      'tc',
      'filter',
      'add',
      'dev',
      'eth0',
      'parent',
      'ffff:',
      'protocol',
      'all',
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'redirect',
      'dev',
      'ifb0',
    ],
  ];
}

/** Replaces both directions' netem qdiscs: egress on eth0, ingress on ifb0. */
export function netemApplyCommands(link: LinkSpec, partitioned = false): string[][] {
  return [
    ['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', ...netemArguments(link.egress, partitioned)],
    ['tc', 'qdisc', 'replace', 'dev', 'ifb0', 'root', 'netem', ...netemArguments(link.ingress, partitioned)],
  ];
}

/** Leaves the link as it was found: no qdiscs of ours, no ifb. */
export function netemTeardownCommands(): string[][] {
  return [['sh', '-c', 'tc qdisc del dev eth0 root 2>/dev/null; tc qdisc del dev eth0 ingress 2>/dev/null; ip link del ifb0 2>/dev/null; true']];
}
