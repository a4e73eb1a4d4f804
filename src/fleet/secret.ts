// The per-fleet secret a target must show to register: made fresh for each
// fleet, compared in constant time (both sides hashed first, so their lengths
// do not matter either).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SECRET } from '../protocol/fleet.js';

// Hex: safe on a kernel command line and in an HTTP header as it is.
export function newSecret(): string {
  return randomBytes(32).toString('hex');
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function sameSecret(given: string | undefined, secret: string): boolean {
  return timingSafeEqual(digest(given ?? ''), digest(secret)) && given !== undefined;
}

// "Authorization: Bearer <secret>", as targets send it.
export function bearerToken(header: string | undefined): string | undefined {
  const match = new RegExp(`^Bearer (${SECRET})$`).exec(header ?? '');
  return match?.[1];
}
