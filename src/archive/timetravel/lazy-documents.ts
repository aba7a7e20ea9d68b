/**
 * Documents whose value is not decoded until someone asks: a whole-state replay (diff) applies the
 * lines by their keys alone, read from the entry's text (`{"action":"SET","target":"K",...`, BRI's
 * key order), and keeps each SET's entry as it is; a value is decoded from it only when it must be
 * compared, and two equal entries are the same value without decoding either. A set operation is
 * read the same way (its member is the rest of the operation). Anything that does not read that way
 * (a key with an escape, another key order) is decoded and applied as usual.
 */
import { decodeOperation } from '../../format/operation.js';
import type { DbState } from '../../format/state.js';

const ACTION = '{"action":"';
const TARGET = '","target":"';
const VALUE = '","value":"';
const OLD_KEY = '","oldKey":"';
const MEMBER = '","member":"';

/** The JSON string that starts at `from` (just after its opening quote) when it has no escape; its end. */
function plainString(text: string, from: number): { value: string; end: number } | null {
  const end = text.indexOf('"', from);
  if (end < 0) return null;
  const value = text.slice(from, end);
  return value.includes('\\') ? null : { value, end };
}

/** An entry read by its keys alone (a set operation: with its member). */
export type RawOp =
  | { action: 'SET' | 'DELETE'; target: string; entry: string }
  | { action: 'RENAME'; target: string; oldKey: string }
  | { action: 'SADD'; target: string; member: string }
  | { action: 'SREM'; target: string; member: string };

/** A document as held: a decoded value, the SET entry that wrote it, or nothing. */
export type Held = { value: string } | { entry: string } | null;

/** The action of `{"action":"X","target":"`, and where the target starts; null for any other shape. */
function actionOf(entry: string): { action: RawOp['action']; at: number } | null {
  if (!entry.startsWith(ACTION)) return null;
  const end = entry.indexOf('"', ACTION.length);
  if (end < 0 || !entry.startsWith(TARGET, end)) return null;
  const action = entry.slice(ACTION.length, end);
  if (action !== 'SET' && action !== 'DELETE' && action !== 'RENAME' && action !== 'SADD' && action !== 'SREM') return null;
  return { action, at: end + TARGET.length };
}

export function readRaw(entry: string): RawOp | null {
  const a = actionOf(entry);
  if (a === null) return null;
  const k = plainString(entry, a.at);
  if (k === null) return null;
  switch (a.action) {
    case 'SET':
      return entry.startsWith(VALUE, k.end) ? { action: 'SET', target: k.value, entry } : null;
    case 'DELETE':
      return { action: 'DELETE', target: k.value, entry };
    case 'RENAME': {
      if (!entry.startsWith(OLD_KEY, k.end)) return null;
      const old = plainString(entry, k.end + OLD_KEY.length);
      return old === null ? null : { action: 'RENAME', target: k.value, oldKey: old.value };
    }
    case 'SADD':
    case 'SREM': {
      if (!entry.startsWith(MEMBER, k.end)) return null;
      const member = plainString(entry, k.end + MEMBER.length);
      return member === null ? null : { action: a.action, target: k.value, member: member.value };
    }
  }
}

export class LazyDocuments {
  /** key -> the entry of the SET that wrote it, not decoded. */
  private readonly entries = new Map<string, string>();
  private state: DbState = { documents: new Map(), collections: new Map() };

  /** The state the documents belong to (a scan starts one from each snapshot it loads). */
  attach(state: DbState): void {
    this.settleAll();
    this.state = state;
  }

  /** Applies a SET, DELETE or RENAME read by its keys (set operations are applied as operations). */
  apply(op: Exclude<RawOp, { action: 'SADD' | 'SREM' }>): void {
    if (op.action !== 'RENAME') {
      this.state.documents.delete(op.target);
      if (op.action === 'SET') this.entries.set(op.target, op.entry);
      else this.entries.delete(op.target);
      return;
    }
    // As BRI: renaming a key that does not exist changes nothing; the value moves as it is held.
    const held = this.peek(op.oldKey);
    if (held === null) return;
    this.state.documents.delete(op.oldKey);
    this.entries.delete(op.oldKey);
    this.state.documents.delete(op.target);
    this.entries.delete(op.target);
    if ('entry' in held) this.entries.set(op.target, held.entry);
    else this.state.documents.set(op.target, held.value);
  }

  peek(key: string): Held {
    const e = this.entries.get(key);
    if (e !== undefined) return { entry: e };
    const v = this.state.documents.get(key);
    return v === undefined ? null : { value: v };
  }

  /** Decodes the value of `key` into the state, if it is held undecoded. */
  settle(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.state.documents.set(key, valueOf({ entry: e })!);
  }

  settleAll(): void {
    for (const k of [...this.entries.keys()]) this.settle(k);
  }
}

/** The stored document a held value stands for (undefined: none). */
export function valueOf(h: Held): string | undefined {
  if (h === null) return undefined;
  if ('value' in h) return h.value;
  const op = decodeOperation(h.entry);
  return op.action === 'SET' ? op.value : undefined;
}

/** Whether two held documents are the same value (equal entries are, without decoding). */
export function sameHeld(a: Held, b: Held): boolean {
  if (a === null || b === null) return a === b;
  if ('entry' in a && 'entry' in b && a.entry === b.entry) return true;
  return valueOf(a) === valueOf(b);
}
