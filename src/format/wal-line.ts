/** One WAL line: `<timestamp>|<pointer>|<entry>`, without its newline. */

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
  // Checked by char codes, not a regular expression: this runs once for every line of a restore.
  if (first > 16 || second - first !== 9 || second + 1 >= text.length) return null;
  let timestamp = 0;
  for (let i = 0; i < first; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    timestamp = timestamp * 10 + d;
  }
  for (let i = first + 1; i < second; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return null;
  }
  return { timestamp, pointer: text.slice(first + 1, second), entry: text.slice(second + 1) };
}

/** Serializes a line, without the trailing newline. */
export function serializeWalLine(line: WalLine): string {
  return `${line.timestamp}|${line.pointer}|${line.entry}`;
}

/** The additional authenticated data that binds an encrypted entry to its line. */
export function entryAad(timestamp: number, pointer: string): string {
  return `${timestamp}|${pointer}`;
}
