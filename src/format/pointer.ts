/** The WAL hash chain: each line's pointer is the first 8 hex chars of sha256(prevPointer + entry). */
import * as crypto from 'node:crypto';

// One-shot crypto.hash (Node >= 20.12) is ~2x faster than createHash per line; older 20.x falls back.
const oneShot = (crypto as unknown as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

/** The pointer that precedes the very first line of a log. */
export const GENESIS_POINTER = '';

/** Computes a line's pointer from the previous line's pointer and the line's plaintext JSS entry. */
export function computePointer(prevPointer: string, entryJss: string): string {
  const data = prevPointer + entryJss;
  return (oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex')).slice(0, 8);
}
