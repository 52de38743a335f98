import type { TaskMeta } from 'vitest';
import type { FigureLimit } from '../runtime/context.ts';

/**
 * Records a figure the test measured (a round trip, a share of requests, bytes before a stall)
 * and the limit its assertion holds it to, pass or fail: reports show the figure, and `netkata
 * verify` shows how close the reference comes to the limit over many runs (its margin). Returns
 * the value, so a test can write `expect(figure(task, 'savingMs', saving, { min: 20 }))...`.
 */
export function figure(task: { meta: TaskMeta }, name: string, value: number, limit?: FigureLimit): number {
  task.meta.measurements = { ...task.meta.measurements, [name]: value };
  if (limit) task.meta.limits = { ...task.meta.limits, [name]: limit };
  return value;
}
