/**
 * Named spans of a grading run, for the benchmark (`npm run bench`) and `--reporter json`: where
 * a grade's time goes besides the tests' own bodies. Spans of one name add up (two image checks
 * are one `images` figure); spans that overlap (work started in parallel) each count in full,
 * so the figures can add up to more than the wall time.
 */
export class PhaseClock {
  private readonly spans = new Map<string, number>();

  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, performance.now() - started);
    }
  }

  add(name: string, ms: number): void {
    this.spans.set(name, (this.spans.get(name) ?? 0) + ms);
  }

  /** Milliseconds per span, rounded, in the order the spans first ended. */
  get figures(): Record<string, number> {
    return Object.fromEntries([...this.spans].map(([name, ms]) => [name, Math.round(ms)]));
  }
}
