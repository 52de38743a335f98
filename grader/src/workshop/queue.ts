import { rm } from 'node:fs/promises';
import { GraderError, NotASubmissionError } from '../errors.ts';
import { logger } from '../log.ts';
import type { GradeReport } from '../report/grade-report.ts';
import { visibleLine } from '../sanitize.ts';
import type { Result, Submission, WorkshopStore } from './store.ts';

const log = logger('workshop');

/** Grades one unpacked upload in the sandbox; the workshop command wires it to `grade` on the Docker runtime. */
export type GradeUpload = (request: { readonly exercise: string; readonly dir: string; readonly profile: string | null }) => Promise<GradeReport>;

export type QueueEvent = { readonly kind: 'queued' | 'grading' | 'finished' | 'replaced'; readonly id: number };

/**
 * The facilitator's line of grades. `jobs` at a time (default one: on two cores, two grades at
 * once move timing verdicts), and never two of one team at once, so a team that uploads in a
 * loop cannot hold the machine while others wait.
 */
export class GradeQueue {
  private readonly running = new Map<number, string>();
  private stopped = false;
  private readonly listeners = new Set<(event: QueueEvent) => void>();

  constructor(
    private readonly store: WorkshopStore,
    private readonly gradeUpload: GradeUpload,
    private readonly jobs = 1,
    /** True once the server is shutting down: a grade cut short then is not the team's result. */
    private readonly ending: () => boolean = () => false,
  ) {}

  onEvent(listener: (event: QueueEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: QueueEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** Picks up what a previous server left waiting or half graded. */
  start(): void {
    const again = this.store.requeueInterrupted();
    if (again > 0) log(`requeued ${again} submissions a previous server was grading`);
    this.pump();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Queues an unpacked upload (its folder already at store.uploadPath(id)). */
  added(submission: Submission, replaced: readonly number[]): void {
    for (const id of replaced) this.emit({ kind: 'replaced', id });
    this.emit({ kind: 'queued', id: submission.id });
    this.pump();
  }

  /** 1 for the next to be graded; 0 once grading or done. */
  position(id: number): number {
    const waiting = this.store.queued();
    const index = waiting.findIndex((s) => s.id === id);
    return index < 0 ? 0 : index + 1;
  }

  get grading(): number[] {
    return [...this.running.keys()];
  }

  private pump(): void {
    if (this.stopped) return;
    for (const next of this.store.queued()) {
      if (this.running.size >= this.jobs) return;
      if ([...this.running.values()].includes(next.team)) continue;
      this.running.set(next.id, next.team);
      this.store.markGrading(next.id);
      this.emit({ kind: 'grading', id: next.id });
      void this.run(next).finally(() => {
        this.running.delete(next.id);
        this.emit({ kind: 'finished', id: next.id });
        this.pump();
      });
    }
  }

  private async run(submission: Submission): Promise<void> {
    const round = this.store.rounds().find((r) => r.id === submission.round);
    const dir = this.store.uploadPath(submission.id);
    let result: Result;
    try {
      const report = await this.gradeUpload({ exercise: submission.exercise, dir, profile: round?.profile ?? null });
      result = {
        status: report.status,
        points: report.points,
        maxPoints: report.maxPoints,
        stagesPassed: report.stages.filter((s) => s.status === 'pass').length,
        stageCount: report.stages.length,
        report: JSON.stringify(report),
        ...(report.graderErrors.length > 0 && { message: visibleLine(report.graderErrors[0]!, 300) }),
      };
    } catch (error) {
      // Shutting down: left as it is, so that the next server grades it again.
      if (this.ending() || this.stopped) return;
      if (!(error instanceof GraderError)) log(`grading #${submission.id} failed unexpectedly: ${(error as Error).stack}`);
      result = {
        status: error instanceof NotASubmissionError ? 'fail' : 'error',
        points: 0,
        maxPoints: 0,
        stagesPassed: 0,
        stageCount: 0,
        message: visibleLine((error as Error).message, 300),
      };
    }
    this.store.finish(submission.id, result);
    // The folder was the team's code: the report keeps what the team needs to see.
    await rm(dir, { recursive: true, force: true });
  }
}
