import os from 'node:os';
import { ConfigError } from '../errors.ts';

/**
 * The most grades a batch or a workshop runs at once: one per core. A grade is mostly waiting
 * (on the link's delay, on timeouts), but its timing tests need a core when they do run;
 * docs/stability.md records the verdicts of `--jobs 2` on two cores against grading alone.
 */
function maxJobs(): number {
  return os.availableParallelism();
}

/** `--jobs N`: a whole number from 1 to maxJobs(). */
export function parseJobs(text: string | undefined): number {
  if (text === undefined) return 1;
  const jobs = Number(text);
  const most = maxJobs();
  if (!Number.isInteger(jobs) || jobs < 1) throw new ConfigError(`--jobs takes a whole number of grades at once, from 1 to ${most}, not "${text}"`);
  if (jobs > most)
    throw new ConfigError(
      `--jobs ${jobs} is more grades at once than this machine has cores (${most}): grades would wait for a core in the middle of their timing tests, and verdicts would move. Use --jobs ${most} at most, or --shard across machines`,
    );
  return jobs;
}
