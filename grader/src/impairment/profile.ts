import { z } from 'zod';
import { ConfigError, formatIssues } from '../errors.ts';

const percent = z.number().min(0).max(100);
const durationMs = z.number().min(0).max(30_000);

/**
 * Gilbert-Elliott burst loss (netem's `loss gemodel p r 1-h 1-k`): a good and a bad state,
 * each with its own loss, and the chances of switching between them per packet.
 */
const burstLossSchema = z.strictObject({
  /** Chance per packet of going from the good state to the bad one. */
  enterBadPercent: percent,
  /** Chance per packet of going back from bad to good. */
  leaveBadPercent: percent.refine((v) => v > 0, 'must be above 0, or the link stays bad forever'),
  badLossPercent: percent.default(100),
  goodLossPercent: percent.default(0),
});

/** What one direction of a link does to each packet, as netem would. */
const directionFields = {
  delayMs: durationMs,
  jitterMs: durationMs,
  distribution: z.enum(['uniform', 'normal', 'pareto', 'paretonormal']),
  lossPercent: percent,
  burstLoss: burstLossSchema,
  duplicatePercent: percent,
  /** Packets sent at once instead of delayed, so they overtake the held ones (needs delayMs). */
  reorderPercent: percent,
  corruptPercent: percent,
  rateKbit: z.int().min(8).max(10_000_000),
};

const directionSchema = z.strictObject(directionFields).partial();

/**
 * An impairment profile. Fields at the top apply to both directions; `egress` (packets leaving
 * the submission) and `ingress` (packets reaching it) override them one direction at a time.
 */
const profileSchema = z
  .strictObject({
    description: z.string().optional(),
    ...directionFields,
    egress: directionSchema.optional(),
    ingress: directionSchema.optional(),
  })
  .partial()
  .superRefine((profile, ctx) => {
    for (const name of ['egress', 'ingress'] as const) {
      if (resolveDirection(profile, name).reorderPercent > 0 && resolveDirection(profile, name).delayMs === 0) {
        const path = profile[name]?.reorderPercent !== undefined ? [name, 'reorderPercent'] : ['reorderPercent'];
        ctx.addIssue({
          code: 'custom',
          path,
          message: `reorder needs delayMs above 0 on ${name} (reordered packets are those sent without the delay, as in netem)`,
        });
      }
    }
  });

export type Profile = z.infer<typeof profileSchema>;
export type DirectionName = 'egress' | 'ingress';

/** One direction with every field decided: what a backend applies. */
export interface LinkDirection {
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly distribution: 'uniform' | 'normal' | 'pareto' | 'paretonormal';
  readonly lossPercent: number;
  readonly burstLoss?: z.infer<typeof burstLossSchema>;
  readonly duplicatePercent: number;
  readonly reorderPercent: number;
  readonly corruptPercent: number;
  readonly rateKbit?: number;
}

export interface LinkSpec {
  readonly name: string;
  readonly egress: LinkDirection;
  readonly ingress: LinkDirection;
}

function resolveDirection(profile: Profile, name: DirectionName): LinkDirection {
  const merged = { ...pickDirection(profile), ...profile[name] };
  return {
    delayMs: merged.delayMs ?? 0,
    jitterMs: merged.jitterMs ?? 0,
    distribution: merged.distribution ?? 'normal',
    lossPercent: merged.lossPercent ?? 0,
    ...(merged.burstLoss ? { burstLoss: merged.burstLoss } : {}),
    duplicatePercent: merged.duplicatePercent ?? 0,
    reorderPercent: merged.reorderPercent ?? 0,
    corruptPercent: merged.corruptPercent ?? 0,
    ...(merged.rateKbit ? { rateKbit: merged.rateKbit } : {}),
  };
}

function pickDirection(profile: Profile): z.infer<typeof directionSchema> {
  const { description: _description, egress: _egress, ingress: _ingress, ...fields } = profile;
  return fields;
}

function resolveLink(name: string, profile: Profile): LinkSpec {
  return { name, egress: resolveDirection(profile, 'egress'), ingress: resolveDirection(profile, 'ingress') };
}

/** True when the direction changes nothing: the backend can leave it alone. */
export function isClean(direction: LinkDirection): boolean {
  return (
    direction.delayMs === 0 &&
    direction.jitterMs === 0 &&
    direction.lossPercent === 0 &&
    !direction.burstLoss &&
    direction.duplicatePercent === 0 &&
    direction.reorderPercent === 0 &&
    direction.corruptPercent === 0 &&
    direction.rateKbit === undefined
  );
}

export function isCleanLink(link: LinkSpec): boolean {
  return isClean(link.egress) && isClean(link.ingress);
}

/** Packets that never arrive in this direction: loss (the long-run rate of burst loss), then corruption. */
export function dropProbability(direction: LinkDirection): number {
  let loss = direction.lossPercent / 100;
  if (direction.burstLoss) {
    const { enterBadPercent, leaveBadPercent, badLossPercent, goodLossPercent } = direction.burstLoss;
    const bad = enterBadPercent / (enterBadPercent + leaveBadPercent);
    loss = (bad * badLossPercent + (1 - bad) * goodLossPercent) / 100;
  }
  return loss + (1 - loss) * (direction.corruptPercent / 100);
}

/**
 * The built-in profiles. Delays are one-way and apply in both directions, so a round trip
 * takes twice `delayMs`: `wan` is a 40 ms round trip.
 */
const BUILTIN_PROFILES: Readonly<Record<string, Profile>> = {
  clean: { description: 'no impairment' },
  lan: { description: 'a switched LAN: 1 ms round trip, a little jitter', delayMs: 0.5, jitterMs: 0.1, distribution: 'normal' },
  wan: { description: 'a continent away: 40 ms ± 10 ms round trip', delayMs: 20, jitterMs: 5, distribution: 'normal' },
  lossy: {
    description: 'a poor Wi-Fi link: 20 ms round trip, 2 % loss, some reordering and duplication each way',
    delayMs: 10,
    jitterMs: 2,
    distribution: 'normal',
    lossPercent: 2,
    reorderPercent: 3,
    duplicatePercent: 1,
  },
  satellite: {
    description: 'a geostationary hop: 550 ms round trip, 2 Mbit/s down, 512 kbit/s up',
    delayMs: 275,
    jitterMs: 5,
    distribution: 'normal',
    egress: { rateKbit: 512 },
    ingress: { rateKbit: 2_000 },
  },
  chaos: {
    description: 'everything at once: 30 ms ± 10 ms round trip, loss, bursts, duplication, reordering, corruption, 20 Mbit/s',
    delayMs: 15,
    jitterMs: 5,
    distribution: 'paretonormal',
    burstLoss: { enterBadPercent: 0.5, leaveBadPercent: 40, badLossPercent: 50, goodLossPercent: 0.5 },
    duplicatePercent: 1,
    reorderPercent: 2,
    corruptPercent: 0.2,
    rateKbit: 20_000,
  },
  blackhole: { description: 'nothing gets through', lossPercent: 100 },
};

export const BUILTIN_PROFILE_NAMES = Object.keys(BUILTIN_PROFILES);

/** A built-in profile by name, validated like any other. */
export function loadProfile(name: string): LinkSpec {
  const profile = BUILTIN_PROFILES[name];
  if (!profile) throw new ConfigError(`no impairment profile "${name}"; the profiles are ${BUILTIN_PROFILE_NAMES.join(', ')}`);
  return parseProfile(name, profile);
}

export function parseProfile(name: string, data: unknown): LinkSpec {
  const result = profileSchema.safeParse(data);
  if (!result.success) throw new ConfigError(`invalid impairment profile ${name}: ${formatIssues(result.error)}`);
  return resolveLink(name, result.data);
}

export const PARTITION: LinkDirection = { ...resolveDirection({}, 'egress'), lossPercent: 100 };
