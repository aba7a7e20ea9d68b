/** The WAL hash chain: each line's pointer is the first 8 hex chars of sha256(prevPointer + entry). */
import { createHash } from 'node:crypto';

/** The pointer that precedes the very first line of a log. */
export const GENESIS_POINTER = '';

/** Computes a line's pointer from the previous line's pointer and the line's plaintext JSS entry. */
export function computePointer(prevPointer: string, entryJss: string): string {
  return createHash('sha256').update(prevPointer + entryJss).digest('hex').slice(0, 8);
}

export function isPointer(text: string): boolean {
  return /^[0-9a-f]{8}$/.test(text);
}
