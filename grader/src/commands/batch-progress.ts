import cliProgress from 'cli-progress';
import { notice } from '../log.ts';
import { visibleLine } from '../sanitize.ts';

/** A graded submission, as the batch's progress and summary show it. */
export interface ProgressEntry {
  readonly submission: string;
  readonly status: 'pass' | 'fail' | 'error';
  readonly points: number;
  readonly maxPoints: number;
  readonly durationMs: number;
  readonly error?: string;
  /** Graded by an earlier run with the same fingerprint (`--resume`), not again. */
  readonly resumed?: boolean;
}

const name = (submission: string, width = 200) => visibleLine(submission.split(/[\\/]/).filter(Boolean).pop() ?? submission, width);

/**
 * A batch's progress on stderr (stdout carries the summary). On a terminal, a bar redrawn in
 * place (cli-progress): submissions graded of all, passing, failing, errors, the time left and
 * which are being graded now, with each finished submission's line printed above it. Elsewhere
 * (a CI log, a file), only those lines.
 */
export class BatchProgress {
  private readonly finished: ProgressEntry[] = [];
  private readonly grading = new Set<string>();
  private readonly bars: cliProgress.MultiBar | undefined;
  private readonly bar: cliProgress.SingleBar | undefined;

  constructor(
    private readonly total: number,
    private readonly jobs: number,
    stream: NodeJS.WriteStream = process.stderr,
    tty = stream.isTTY === true && !process.env.CI,
  ) {
    if (!tty) return;
    this.bars = new cliProgress.MultiBar(
      {
        stream,
        format: '  {bar} {value}/{total} graded · {pass} passing, {fail} failing, {error} errors · {left} · now: {now}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        // Redrawn when something changes, and each second for the list of grades under way.
        fps: 1,
        noTTYOutput: false,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar = this.bars.create(total, 0, this.payload());
  }

  /** A line above the bar, or on its own without a terminal. */
  private say(line: string): void {
    if (this.bars) this.bars.log(`netkata: ${line}\n`);
    else notice(line);
  }

  private count(status: ProgressEntry['status']): number {
    return this.finished.filter((e) => e.status === status).length;
  }

  /** The time left at the pace of this run's grades (resumed ones cost nothing), `jobs` at a time. */
  private eta(): string {
    const left = this.total - this.finished.length;
    if (left === 0) return 'done';
    const graded = this.finished.filter((e) => !e.resumed);
    if (graded.length === 0) return 'time left unknown yet';
    const perGradeMs = graded.reduce((sum, e) => sum + e.durationMs, 0) / graded.length;
    const minutes = Math.ceil((left * perGradeMs) / Math.min(this.jobs, left) / 60_000);
    return minutes < 1 ? 'under a minute left' : `about ${minutes} min left`;
  }

  private payload() {
    return {
      pass: this.count('pass'),
      fail: this.count('fail'),
      error: this.count('error'),
      left: this.eta(),
      now: this.grading.size === 0 ? '-' : [...this.grading].map((s) => name(s, 30)).join(', '),
    };
  }

  /** A grade starts (resumed submissions, which are not graded again, do not start). */
  start(index: number, submission: string): void {
    this.grading.add(submission);
    if (this.bar) this.redraw();
    else notice(`grading ${visibleLine(submission)} (${index + 1} of ${this.total})...`);
  }

  /** A submission's grade is in: its line (result, the class so far, the time left), and the bar moves on. */
  end(entry: ProgressEntry): void {
    this.grading.delete(entry.submission);
    this.finished.push(entry);
    const result = entry.error ? entry.status : `${entry.status} ${entry.points}/${entry.maxPoints}`;
    const how = entry.resumed ? 'graded before, unchanged (--resume)' : `in ${(entry.durationMs / 1000).toFixed(1)} s`;
    this.say(
      `[${this.finished.length}/${this.total}] ${name(entry.submission)}: ${result} ${how}; so far ${this.count('pass')} passing, ${this.count('fail')} failing, ${this.count('error')} errors; ${this.eta()}`,
    );
    if (this.bar) this.redraw();
  }

  /** Now, not at the next tick: a finished grade is news. */
  private redraw(): void {
    this.bar!.update(this.finished.length, this.payload());
    this.bars!.update();
  }

  /** The bar goes (the summary follows on stdout); safe to call twice. */
  stop(): void {
    this.bars?.stop();
  }
}
