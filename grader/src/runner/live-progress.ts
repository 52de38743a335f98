import { visibleLine } from '../sanitize.ts';

/** How long a test runs before the terminal says which it is. */
const SHOW_AFTER_MS = 1_000;
const FRAME_MS = 100;
/** Without a terminal (CI logs), a plain line this often while one test runs. */
const PLAIN_EVERY_MS = 10_000;
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Which test runs and for how long, on stderr (never stdout, which carries the report): a
 * spinner line redrawn in place on a terminal once a test passes a second, plain lines every
 * 10 s elsewhere, so a CI log shows what a long grade is waiting for. Hand-written rather than
 * cli-progress: one line that must give way to the grader's own notices, no bars to draw.
 */
export class LiveProgress {
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  private get tty(): boolean {
    return this.stream.isTTY === true && !process.env.CI;
  }

  /** A test started: after a second, say so. */
  start(label: string): void {
    this.stop();
    const startedAt = performance.now();
    const text = visibleLine(label, 100);
    if (this.tty) {
      let frame = 0;
      this.timer = setInterval(() => {
        const elapsedMs = performance.now() - startedAt;
        if (elapsedMs < SHOW_AFTER_MS) return;
        this.stream.write(`\r\x1b[2K  ${FRAMES[frame++ % FRAMES.length]} ${text} (${(elapsedMs / 1000).toFixed(1)} s)`);
        this.drawn = true;
      }, FRAME_MS);
    } else {
      this.timer = setInterval(() => {
        this.stream.write(`  … ${text}: still running after ${Math.round((performance.now() - startedAt) / 1000)} s\n`);
      }, PLAIN_EVERY_MS);
    }
    this.timer.unref();
  }

  /** The test ended (or the run did): clear the spinner, then print `line` if given. */
  end(line?: string): void {
    this.stop();
    if (line !== undefined) this.stream.write(`${line}\n`);
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
