/** One hidden or visible test as the runner saw it: plain data, ready for scoring and reports. */
export interface TestOutcome {
  readonly name: string;
  /** Path of the test file relative to the suite folder. */
  readonly file: string;
  readonly stage: number | undefined;
  readonly points: number | undefined;
  readonly status: 'passed' | 'failed' | 'skipped';
  /** The impairment profile the test ran under. */
  readonly profile?: string;
  readonly durationMs: number;
  readonly error?: string;
  readonly transcript?: string;
  readonly serverLog?: string;
  readonly measurements?: Readonly<Record<string, number>>;
}

export interface SuiteRun {
  readonly tests: readonly TestOutcome[];
  /** Failures of the grader itself: unhandled errors, files that failed to load, infrastructure. */
  readonly graderErrors: readonly string[];
}
