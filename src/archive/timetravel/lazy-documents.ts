/**
 * Documents whose value is not decoded until someone asks: a whole-state replay (diff) applies the
 * lines by their keys alone, read from the entry's text (`{"action":"SET","target":"K",...`, BRI's
 * key order), and keeps each SET's entry as it is; a value is decoded from it only when it must be
 * compared, and two equal entries are the same value without decoding either. A set operation is
 * read the same way (its member is the rest of the operation). Anything that does not read that way
 * (a key with an escape, another key order) is decoded and applied as usual.
 */
import { setField } from '../../format/jss.js';
import { detached } from '../../format/literal-state.js';
import { decodeOperation } from '../../format/operation.js';
import type { Operation } from '../../format/operation.js';
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

/** The entry that starts at `from` in `text`, read by its keys (a SET's entry is the only part cut out). */
function readRawAt(text: string, from: number): RawOp | null {
  if (!text.startsWith(ACTION, from)) return null;
  const end = text.indexOf('"', from + ACTION.length);
  if (end < 0 || !text.startsWith(TARGET, end)) return null;
  const action = text.slice(from + ACTION.length, end);
  const k = plainString(text, end + TARGET.length);
  if (k === null) return null;
  switch (action) {
    case 'SET':
      return text.startsWith(VALUE, k.end) ? { action: 'SET', target: detached(k.value), entry: detached(text.slice(from)) } : null;
    case 'DELETE':
      return { action: 'DELETE', target: detached(k.value), entry: '' };
    case 'RENAME': {
      if (!text.startsWith(OLD_KEY, k.end)) return null;
      const old = plainString(text, k.end + OLD_KEY.length);
      return old === null ? null : { action: 'RENAME', target: detached(k.value), oldKey: detached(old.value) };
    }
    case 'SADD':
    case 'SREM': {
      if (!text.startsWith(MEMBER, k.end)) return null;
      const member = plainString(text, k.end + MEMBER.length);
      return member === null ? null : { action, target: detached(k.value), member: detached(member.value) };
    }
    default:
      return null;
  }
}

const ZERO = 0x30;
const HEX = /^[0-9a-f]{8}$/;

/**
 * A whole WAL line read by its keys, without cutting it into fields first (a diff reads every line up
 * to its later moment this way): its time, and the operation, or null when the line is not a
 * plaintext entry of BRI's shape (the caller then parses it as usual, and says what is wrong with it).
 */
export function readRawLine(text: string): { timestamp: number; op: RawOp } | null {
  const first = text.indexOf('|');
  if (first <= 0 || first > 16) return null;
  let timestamp = 0;
  for (let i = 0; i < first; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return null;
    timestamp = timestamp * 10 + d;
  }
  if (text.charCodeAt(first + 9) !== 0x7c || !HEX.test(text.slice(first + 1, first + 9))) return null;
  const op = readRawAt(text, first + 10);
  return op === null ? null : { timestamp, op };
}

/**
 * What changed after a moment, kept as the scan goes (a diff): each document the first time a line
 * after the moment touches it, as it was just before, and each set the first time one of its members
 * is touched, as it was. Only what was touched can differ at the end, so the end is compared on those
 * alone, and nothing is copied at the moment.
 */
export interface ChangesSince {
  /** key -> the document as it was at the moment: the SET entry that wrote it, its value, or null (it did not exist). */
  documents: Map<string, string | { value: string } | null>;
  /** set -> its members at the moment. */
  sets: Map<string, Set<string>>;
}

export class LazyDocuments {
  /** key -> the entry of the SET that wrote it, not decoded. */
  private readonly entries = new Map<string, string>();
  private state: DbState = { documents: new Map(), collections: new Map() };
  private changes: ChangesSince | null = null;

  /** The state the documents belong to (a scan starts one from each snapshot it loads). */
  attach(state: DbState): void {
    this.settleAll();
    if (this.changes !== null) {
      // The whole state is replaced (a later archive's snapshot after a gap): everything in either is touched.
      for (const k of this.state.documents.keys()) this.touch(k);
      for (const set of this.state.collections.keys()) this.touchSet(set);
      // What only the new state holds was not there at the moment (what was is recorded by now): recorded as absent.
      for (const k of state.documents.keys()) this.touch(k);
      for (const set of state.collections.keys()) this.touchSet(set);
    }
    this.state = state;
  }

  /** From now on, records what each change finds (see ChangesSince). */
  recordChanges(): void {
    this.changes ??= { documents: new Map(), sets: new Map() };
  }

  /** What changed since recordChanges (null: it was not called). */
  changesSince(): ChangesSince | null {
    return this.changes;
  }

  /** Records the document `key` as it is now, if nothing after the moment touched it before. */
  touch(key: string): void {
    const docs = this.changes!.documents;
    if (docs.has(key)) return;
    // An entry is recorded as it is (no wrapper per document: most are entries).
    const e = this.entries.get(key);
    if (e !== undefined) return void docs.set(key, e);
    const v = this.state.documents.get(key);
    docs.set(key, v === undefined ? null : { value: v });
  }

  /** Records the members of `set` as they are now, if nothing after the moment touched it before. */
  touchSet(set: string): void {
    const sets = this.changes!.sets;
    if (!sets.has(set)) sets.set(set, new Set(this.state.collections.get(set)));
  }

  /** Records what an operation applied as usual (not through `apply`) is about to change. */
  touchOp(op: Operation): void {
    if (this.changes === null) return;
    if (op.action === 'SADD' || op.action === 'SREM') return this.touchSet(op.target);
    this.touch(op.target);
    if (op.action === 'RENAME') this.touch(op.oldKey);
  }

  /** Applies a SET, DELETE or RENAME read by its keys (set operations are applied as operations). */
  apply(op: Exclude<RawOp, { action: 'SADD' | 'SREM' }>): void {
    if (this.changes !== null) {
      this.touch(op.target);
      if (op.action === 'RENAME') this.touch(op.oldKey);
    }
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
    this.state.documents.set(key, entryValue(e)!);
  }

  settleAll(): void {
    for (const k of [...this.entries.keys()]) this.settle(k);
  }
}

/** The stored document a SET entry wrote. */
function entryValue(entry: string): string | undefined {
  const op = decodeOperation(entry);
  return op.action === 'SET' ? op.value : undefined;
}

/** The stored string of a document as recorded or held (an entry, or a value). */
function storedOf(h: string | { value: string }): string | undefined {
  return typeof h === 'string' ? entryValue(h) : h.value;
}

/** The documents and set members that differ between the moment of `changes` and the state `lazy` holds now. */
export function differences(changes: ChangesSince, lazy: LazyDocuments, now: DbState): { added: string[]; changed: string[]; removed: string[]; sets: Record<string, { added: string[]; removed: string[] }> } {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [k, was] of changes.documents) {
    const is = lazy.peek(k);
    if (was === null) {
      if (is !== null) added.push(k);
    } else if (is === null) removed.push(k);
    // Equal entries are the same value without decoding either.
    else if (!('entry' in is && is.entry === was) && storedOf(was) !== storedOf('entry' in is ? is.entry : is)) changed.push(k);
  }
  const sets: Record<string, { added: string[]; removed: string[] }> = {};
  for (const [set, was] of changes.sets) {
    const is = now.collections.get(set);
    // (Walked in place: a set can hold hundreds of thousands of members.)
    const plus: string[] = [];
    const minus: string[] = [];
    if (is) for (const m of is) if (!was.has(m)) plus.push(m);
    for (const m of was) if (!is?.has(m)) minus.push(m);
    // (A set named __proto__ is a field like any other.)
    if (plus.length || minus.length) setField(sets, set, { added: plus.sort(), removed: minus.sort() });
  }
  return { added, changed, removed, sets };
}
