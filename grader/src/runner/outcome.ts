import type { TestArtifacts } from '../artifacts.ts';
import type { FigureLimit } from '../runtime/context.ts';
import type { RuntimeKind } from '../runtime/runtime.ts';

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
  /** The limits the test held some of its measurements to. */
  readonly limits?: Readonly<Record<string, FigureLimit>>;
  /** A failed test's artifact files (`grade --artifacts DIR`). */
  readonly artifacts?: TestArtifacts;
}

/** Where one test file's time went, in ms. */
export interface ModuleTimings {
  readonly file: string;
  /** Importing the file and its top-level awaits (a TLS zoo's start, for one). */
  readonly collectMs: number;
  /** Its tests' bodies (with their beforeEach and afterEach hooks). */
  readonly testsMs: number;
  /** Its beforeAll and afterAll hooks: the file's duration beyond its tests. */
  readonly hooksMs: number;
  /** The harness's own steps inside those hooks: `submission start`, `peer stop`... */
  readonly phases: Readonly<Record<string, number>>;
}

export interface SuiteRun {
  readonly tests: readonly TestOutcome[];
  readonly modules?: readonly ModuleTimings[];
  /** Failures of the grader itself: unhandled errors, files that failed to load, infrastructure. */
  readonly graderErrors: readonly string[];
}

/** Which runtime ran the tests, as the report states it. */
export interface RuntimeReport {
  readonly kind: RuntimeKind;
  /** Docker server version, or the Node version of the local runtime. */
  readonly version: string;
  readonly isolated: boolean;
  /** How tests reached the containers: by address, or through published ports (remote engines). */
  readonly endpoints?: 'direct' | 'published';
}

export type { FigureLimit };
