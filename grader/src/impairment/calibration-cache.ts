import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { logger } from '../log.ts';
import type { Calibration } from './calibrate.ts';

const log = logger('calibrate');

/** How long a full calibration stands in for a new one (each run still re-verifies it). */
export const CALIBRATION_MAX_AGE_MS = 7 * 24 * 3_600_000;

/** netkata's cache folder: NETKATA_CACHE_DIR, else $XDG_CACHE_HOME/netkata, else ~/.cache/netkata. */
function cacheDir(): string {
  return process.env.NETKATA_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'netkata');
}

// Only what a re-verification reads back is checked; the rest is shown as it was measured.
const entrySchema = z.object({
  calibratedAt: z.iso.datetime(),
  probes: z.number(),
  figures: z.record(z.string(), z.number()),
});
const fileSchema = z.object({ version: z.literal(1), entries: z.record(z.string(), entrySchema) });
type CacheFile = z.infer<typeof fileSchema>;
export type CachedCalibration = z.infer<typeof entrySchema>;

/**
 * The key of a calibration: everything that decides how a profile's link measures (the engine
 * and its kernel, the backend, the sidecar's and the probe's images, the machine's cores, the
 * profile itself), hashed.
 */
export function calibrationKey(parts: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/**
 * Full calibrations of this machine, one per key, in one JSON file rewritten whole (through a
 * rename, so a reader never sees half of one). A file that does not parse is ignored, as if
 * empty: the cost is one full calibration. Two graders writing at once may lose one's entry,
 * with the same cost.
 */
export class CalibrationCache {
  constructor(
    readonly file = path.join(cacheDir(), 'calibrations.json'),
    private readonly maxAgeMs = CALIBRATION_MAX_AGE_MS,
    private readonly now = () => Date.now(),
  ) {}

  private async read(): Promise<CacheFile> {
    try {
      const parsed = fileSchema.safeParse(JSON.parse(await readFile(this.file, 'utf8')));
      if (parsed.success) return parsed.data;
      log(`Ignoring ${this.file}: ${parsed.error.issues[0]?.message}`);
    } catch {
      // Missing or not JSON: nothing cached.
    }
    return { version: 1, entries: {} };
  }

  /** The full calibration stored under `key`, unless it is older than the maximum age. */
  async get(key: string): Promise<CachedCalibration | undefined> {
    const entry = (await this.read()).entries[key];
    if (!entry) return undefined;
    const age = this.now() - Date.parse(entry.calibratedAt);
    return Number.isFinite(age) && age >= 0 && age <= this.maxAgeMs ? entry : undefined;
  }

  /** Stores a full calibration that passed; entries past the maximum age are dropped meanwhile. */
  async put(key: string, calibration: Calibration): Promise<void> {
    if (!calibration.ok || calibration.method === 'reverified') return;
    const current = await this.read();
    const fresh = Object.fromEntries(Object.entries(current.entries).filter(([, e]) => this.now() - Date.parse(e.calibratedAt) <= this.maxAgeMs));
    const entries = { ...fresh, [key]: { calibratedAt: new Date(this.now()).toISOString(), probes: calibration.probes, figures: calibration.figures } };
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      const temporary = `${this.file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temporary, `${JSON.stringify({ version: 1, entries } satisfies CacheFile)}\n`);
      await rename(temporary, this.file);
    } catch (error) {
      // A read-only home costs a full calibration next time, nothing more.
      log(`Could not write ${this.file}: ${(error as Error).message}`);
    }
  }
}
