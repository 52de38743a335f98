import os from 'node:os';

/** Every container, network and image a run creates carries these, so nothing can be left behind unnoticed. */
export const LABEL_MANAGED = 'netkata.managed';
export const LABEL_RUN = 'netkata.run';
export const LABEL_OWNER = 'netkata.owner';
export const LABEL_ROLE = 'netkata.role';

export function runLabels(runId: string): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_RUN]: runId,
    // host:pid of the grader process that owns the run; the sweep removes runs whose owner is gone.
    [LABEL_OWNER]: `${os.hostname()}:${process.pid}`,
  };
}
