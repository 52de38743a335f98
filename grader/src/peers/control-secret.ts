// A grader-owned peer's control channel (a load-balancer backend's /_control/..., the TLS zoo's
// /stats and /reset) sits on a port the submission reaches too: the peer's data port, or one the
// edge forwards. So it answers only requests that carry a secret made in the test worker and
// given to the peer in its environment, which no other container can read. Without it a
// control request is an ordinary one (a backend echoes it, the zoo's port says 404), so the
// submission cannot even tell the channel is there. The peers are plain CommonJS scripts that
// check the header themselves (constant-time); keep the names here and there in step.
import { randomBytes } from 'node:crypto';

/** The variable a peer reads its secret from. */
export const CONTROL_SECRET_ENV = 'NETKATA_CONTROL_SECRET';
/** The header every control request carries the secret in. */
export const CONTROL_HEADER = 'x-netkata-control';

/** 256 random bits, URL-safe: one per peer (or per zoo), never logged, never sent to the submission. */
export function newControlSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The headers that authenticate a control request with `secret`. */
export function controlHeaders(secret: string): Record<string, string> {
  return { [CONTROL_HEADER]: secret };
}
