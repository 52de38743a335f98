import type { ZodError } from 'zod';

/**
 * Errors the grader knows by kind. `cli.ts` maps every GraderError to exit code 2
 * ("the grader could not run"), with one plain line; a learner's failing test is
 * never one of these.
 */
export class GraderError extends Error {
  readonly code: string = 'NETKATA_GRADER';
  /**
   * Survives vitest's serialization of an error thrown in a test worker (own properties are
   * copied). A submission can print any text into an error's message, but it cannot set a
   * property on an error object in the worker: this, not the message, is what makes a fault
   * the grader's.
   */
  readonly graderFault = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A manifest, profile or command-line argument that does not validate. */
export class ConfigError extends GraderError {
  override readonly code = 'NETKATA_CONFIG';
}

/** A folder given as a submission holds neither src/main.ts nor a Dockerfile. */
export class NotASubmissionError extends ConfigError {}

/** No container engine answered, or it refused what the grader asked of it. */
export class RuntimeUnavailableError extends GraderError {
  override readonly code = 'NETKATA_RUNTIME_UNAVAILABLE';
}

/** Infrastructure failed while a run was under way (network, sidecar, engine API). */
export class InfrastructureError extends GraderError {
  override readonly code = 'NETKATA_INFRA';
}

/** An image the grader owns could not be built, online or offline. */
export class ImageBuildError extends GraderError {
  override readonly code = 'NETKATA_IMAGE_BUILD';
}

/**
 * The learner's submission could not be built (syntax error, failing Dockerfile).
 * Not a grader error: it is reported as a failed grade, exit code 1.
 */
export class SubmissionBuildError extends Error {
  readonly code = 'NETKATA_SUBMISSION_BUILD';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = 'SubmissionBuildError';
  }
}

/**
 * The one place that decides whether an error (live, or serialized from a test worker) is the
 * grader's fault: by its type, never by its text, which may quote the submission.
 */
export function isGraderFault(error: unknown): boolean {
  return error instanceof GraderError || (typeof error === 'object' && error !== null && (error as { graderFault?: unknown }).graderFault === true);
}

/** One line per zod issue: `stages.0.points: expected int, received string`. */
export function formatIssues(error: ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** A profile's measured link did not match the profile: the grader's fault, never the learner's. */
export class CalibrationError extends GraderError {
  override readonly code = 'NETKATA_CALIBRATION';
}
