// Moved to grader/src/sanitize.ts (the base layer: log.ts, the harness and the runner use it too).
// Kept until cli.ts and commands/grade.ts import it from there; then delete this file.
export { visibleLine, visibleText } from '../sanitize.ts';
