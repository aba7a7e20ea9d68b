/**
 * Documents whose value is not decoded until someone asks: a whole-state replay (diff) applies the
 * lines before its first moment by their keys alone, read from the entry's text (`{"action":"SET",
 * "target":"K",...`, BRI's key order), and keeps each SET's entry as it is; a value is decoded from
 * it only for a key a later line touches. Anything that does not read that way (a key with an
 * escape, another key order, a set operation) is decoded and applied as usual.
 */
import { decodeOperation } from '../../format/operation.js';
import type { DbState } from '../../format/state.js';

const SET = '{"action":"SET","target":"';
const DELETE = '{"action":"DELETE","target":"';
const RENAME = '{"action":"RENAME","target":"';

/** The JSON string that starts at `from` (just after its opening quote) when it has no escape; its end. */
function plainString(text: string, from: number): { value: string; end: number } | null {
  const end = text.indexOf('"', from);
  if (end < 0) return null;
  const value = text.slice(from, end);
  return value.includes('\\') ? null : { value, end };
}

export class LazyDocuments {
  /** key -> the entry of the SET that wrote it, not decoded. */
  private readonly entries = new Map<string, string>();

  constructor(private readonly state: DbState) {}

  /** Applies a plaintext entry by its keys alone; false when it does not read that way (the caller decodes it). */
  applyRaw(entry: string): boolean {
    if (entry.startsWith(SET)) {
      const k = plainString(entry, SET.length);
      if (k === null || !entry.startsWith('","value":"', k.end)) return false;
      this.state.documents.delete(k.value);
      this.entries.set(k.value, entry);
      return true;
    }
    if (entry.startsWith(DELETE)) {
      const k = plainString(entry, DELETE.length);
      if (k === null) return false;
      this.state.documents.delete(k.value);
      this.entries.delete(k.value);
      return true;
    }
    if (entry.startsWith(RENAME)) {
      const k = plainString(entry, RENAME.length);
      if (k === null || !entry.startsWith('","oldKey":"', k.end)) return false;
      const old = plainString(entry, k.end + '","oldKey":"'.length);
      if (old === null) return false;
      this.settle(old.value);
      const v = this.state.documents.get(old.value);
      // As BRI: renaming a key that does not exist changes nothing.
      if (v === undefined) return true;
      this.state.documents.delete(old.value);
      this.entries.delete(k.value);
      this.state.documents.set(k.value, v);
      return true;
    }
    return false;
  }

  /** Decodes the value of `key` into the state, if it is held undecoded. */
  settle(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    const op = decodeOperation(e);
    if (op.action === 'SET') this.state.documents.set(key, op.value);
  }

  /** Every key held undecoded (a whole state is asked for: they are all decoded). */
  settleAll(): void {
    for (const k of [...this.entries.keys()]) this.settle(k);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }
}
