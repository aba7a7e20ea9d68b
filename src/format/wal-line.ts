/** One WAL line: `<timestamp>|<pointer>|<entry>`, without its newline. */
import { isPointer } from './pointer.js';

export interface WalLine {
  /** Milliseconds since the epoch when the line was written. */
  timestamp: number;
  /** 8 lowercase hex chars of the chain. */
  pointer: string;
  /** The entry as stored: plaintext JSS, or base64 ciphertext with encryption at rest. */
  entry: string;
}

/** Parses a line's text (no trailing newline). Returns null for a line that does not parse. */
export function parseWalLine(text: string): WalLine | null {
  const first = text.indexOf('|');
  if (first <= 0) return null;
  const second = text.indexOf('|', first + 1);
  if (second < 0) return null;
  const tsText = text.slice(0, first);
  if (!/^\d{1,16}$/.test(tsText)) return null;
  const pointer = text.slice(first + 1, second);
  if (!isPointer(pointer)) return null;
  const entry = text.slice(second + 1);
  if (entry.length === 0) return null;
  return { timestamp: Number(tsText), pointer, entry };
}

/** Serializes a line, without the trailing newline. */
export function serializeWalLine(line: WalLine): string {
  return `${line.timestamp}|${line.pointer}|${line.entry}`;
}

/** The additional authenticated data that binds an encrypted entry to its line. */
export function entryAad(timestamp: number, pointer: string): string {
  return `${timestamp}|${pointer}`;
}
