import type { ZodError } from 'zod';

/**
 * Errors the grader knows by kind. `cli.ts` maps every GraderError to exit code 2
 * ("the grader could not run"), with one plain line; a learner's failing test is
 * never one of these.
 */
export class GraderError extends Error {
  readonly code: string = 'NETKATA_GRADER';
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
  constructor(message: string, readonly output: string) {
    super(message);
    this.name = 'SubmissionBuildError';
  }
}

/**
 * Infrastructure errors thrown inside test workers reach the main process only as
 * serialized errors; this prefix survives serialization so the runner can tell a
 * grader failure from a learner's failing assertion.
 */
export const INFRA_MARK = '[netkata:infrastructure]';

export function isInfraMessage(message: string | undefined): boolean {
  return message?.includes(INFRA_MARK) ?? false;
}

/** One line per zod issue: `stages.0.points: expected int, received string`. */
export function formatIssues(error: ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** A profile's measured link did not match the profile: the grader's fault, never the learner's. */
export class CalibrationError extends GraderError {
  override readonly code = 'NETKATA_CALIBRATION';
}
