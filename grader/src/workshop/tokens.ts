import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.ts';

/** Team names go into URLs, commands and the board: short, lower case, no surprises. */
const TEAM_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function checkTeamName(name: string): string {
  if (!TEAM_NAME.test(name)) {
    throw new ConfigError(`team name ${JSON.stringify(name.slice(0, 40))}: use 1 to 32 lower-case letters, digits and dashes, starting with a letter or digit`);
  }
  return name;
}

/** A fresh secret: 144 bits, URL- and shell-safe. */
export function newToken(): string {
  return randomBytes(18).toString('base64url');
}

/** What the store keeps of a token: its digest, so the folder alone does not let anyone submit. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compares a presented token with a stored digest in constant time. */
export function tokenMatches(token: string | undefined, digest: string | undefined): boolean {
  if (!token || !digest) return false;
  const presented = Buffer.from(tokenDigest(token), 'hex');
  const stored = Buffer.from(digest, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
