/**
 * A selective rollback: the chosen documents and sets get back their values at T as new writes to
 * the live database (so the chain, the audit trail and the next archive record the rollback
 * itself); a document that did not exist at T is deleted; every other key is left alone.
 */
import { asBriError, assertKnownOptions, BriError, ErrorCodes } from '../../errors.js';
import type { DbState } from '../../format/state.js';
import type { TimeTravel, TimeTravelOptions } from './time-travel.js';
import type { ReadCounter } from './member-bytes.js';

/** What a rollback writes through: the open store (db), or one opened under the lock (bri restore keys). */
export interface LiveStore {
  readonly state: Readonly<DbState>;
  set(key: string, value: string): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  sAdd(set: string, member: string): Promise<unknown>;
  sRem(set: string, member: string): Promise<unknown>;
}

export interface RollbackItem {
  key: string;
  kind: 'document' | 'set';
  /** The stored document now (null: none), or the set's members now. */
  now: string | null | string[];
  /** The same at T. */
  atT: string | null | string[];
  /** What the rollback does: nothing (equal), set it back, delete it, or add/remove set members. */
  action: 'none' | 'set' | 'delete' | 'members';
  added?: string[];
  removed?: string[];
}

export interface RollbackResult {
  at: number;
  dryRun: boolean;
  items: RollbackItem[];
  /** Writes made (0 for a dry run). */
  writes: number;
  read: ReadCounter;
}

export type RollbackTarget = string[] | { prefix: string; keys?: string[] };

export async function rollbackKeys(tt: TimeTravel, live: LiveStore, target: RollbackTarget, o: TimeTravelOptions & { at: number | string; dryRun?: boolean }): Promise<RollbackResult> {
  // A misspelt dryRun must not write into the live database.
  assertKnownOptions(o, ['at', 'dryRun', 'live', 'source', 'instanceId', 'identity', 'onSourceProblem'], 'rollback');
  const { keys, prefix } = rollbackSelection(target);
  const past = await tt.valuesAt(keys, prefix, o);
  const now = live.state;
  const chosen = new Set(keys);
  if (prefix !== null) {
    for (const k of [...past.state.documents.keys(), ...past.state.collections.keys(), ...now.documents.keys(), ...now.collections.keys()]) if (k.startsWith(prefix)) chosen.add(k);
  }
  const items: RollbackItem[] = [];
  for (const key of [...chosen].sort()) {
    const isSet = past.state.collections.has(key) || now.collections.has(key);
    if (isSet) {
      const before = [...(past.state.collections.get(key) ?? [])];
      const current = [...(now.collections.get(key) ?? [])];
      const added = before.filter((m) => !now.collections.get(key)?.has(m));
      const removed = current.filter((m) => !past.state.collections.get(key)?.has(m));
      items.push({ key, kind: 'set', now: current, atT: before, action: added.length || removed.length ? 'members' : 'none', added, removed });
    }
    if (!isSet || past.state.documents.has(key) || now.documents.has(key)) {
      const atT = past.state.documents.get(key) ?? null;
      const cur = now.documents.get(key) ?? null;
      items.push({ key, kind: 'document', now: cur, atT, action: atT === cur ? 'none' : atT === null ? 'delete' : 'set' });
    }
  }
  const writes = o.dryRun ? 0 : await writeAll(live, items);
  return { at: past.at, dryRun: o.dryRun === true, items, writes, read: past.read };
}

/**
 * Issues every write of the rollback before awaiting any. A store takes or refuses a write when it is called (its
 * line is appended then, durable later), and a close() refuses every write from the moment it is called: awaited
 * one by one, a close() (a SIGTERM handler) came between two writes and left some keys at T, the others not, with a
 * bare STORE_CLOSED. Issued in one go, no close() comes between them: all are in, or none. A write that still fails
 * (a full disk) fails with the keys written and those not, so the caller knows what the rollback changed.
 */
async function writeAll(live: LiveStore, items: RollbackItem[]): Promise<number> {
  const pending = items.filter((it) => it.action !== 'none').map((it) => ({ key: it.key, writes: issue(live, it) }));
  const settled = await Promise.all(pending.map(async (p) => ({ key: p.key, results: await Promise.allSettled(p.writes) })));
  const failed = settled.filter((s) => s.results.some((r) => r.status === 'rejected'));
  if (failed.length === 0) return settled.reduce((n, s) => n + s.results.length, 0);
  const first = failed[0]!.results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as unknown;
  const cause = asBriError(first, 'rollback: a write failed');
  const written = settled.filter((s) => s.results.every((r) => r.status === 'fulfilled')).map((s) => s.key);
  const partly = failed.filter((s) => s.results.some((r) => r.status === 'fulfilled')).map((s) => s.key);
  const notWritten = failed.filter((s) => s.results.every((r) => r.status === 'rejected')).map((s) => s.key);
  const how = written.length === 0 && partly.length === 0 ? 'no key was written' : `${written.length} of ${settled.length} key(s) were written${partly.length > 0 ? `, ${partly.length} in part (a set's members)` : ''}`;
  return Promise.reject(
    new BriError(cause.code, `rollback: ${how}: ${cause.message}`, {
      hint: `${cause.hint ?? 'Fix the cause.'} Then run the same rollback again: what is already back at its value at T is left alone.`,
      details: { ...cause.details, written, partlyWritten: partly, notWritten },
      cause: first,
    }),
  );
}

/** The writes that give one item its value at T, all called now (in key order, as before). */
function issue(live: LiveStore, it: RollbackItem): Array<Promise<unknown>> {
  // A store that throws instead of rejecting must not stop the writes after it being issued: its throw is that write's failure.
  const call = (w: () => Promise<unknown>) => {
    try {
      return w();
    } catch (err) {
      return Promise.reject(err);
    }
  };
  if (it.action === 'set') return [call(() => live.set(it.key, it.atT as string))];
  if (it.action === 'delete') return [call(() => live.delete(it.key))];
  return [...it.added!.map((m) => call(() => live.sAdd(it.key, m))), ...it.removed!.map((m) => call(() => live.sRem(it.key, m)))];
}

const TARGET_HINT = "Give the keys (['USER_1', 'USER_2']) or { prefix: 'USER_' } (with optional keys): rollback writes into the live database, so what it touches is never guessed.";

function badTarget(message: string): BriError {
  return new BriError(ErrorCodes.USAGE, `rollback: ${message}`, { hint: TARGET_HINT });
}

function assertKeyList(keys: unknown, what: string): asserts keys is string[] {
  if (!Array.isArray(keys)) throw badTarget(`${what} must be an array of keys, got ${typeof keys === 'string' ? 'a string' : typeof keys}`);
  const bad = keys.findIndex((k) => typeof k !== 'string');
  if (bad >= 0) throw badTarget(`${what}[${bad}] is not a key (${keys[bad] === null ? 'null' : typeof keys[bad]})`);
}

/**
 * The keys and prefix a rollback touches, from a target checked as a plain-JS caller may pass it: a string, an
 * object without `prefix`, or an empty prefix (an unset variable) must never roll back nothing and say done,
 * nor every key of the live database (the CLI refuses an empty --prefix the same way).
 */
function rollbackSelection(target: unknown): { keys: string[]; prefix: string | null } {
  if (Array.isArray(target)) {
    assertKeyList(target, 'keys');
    if (target.length === 0) throw badTarget('no keys given');
    return { keys: target, prefix: null };
  }
  if (typeof target !== 'object' || target === null) throw badTarget(`the target must be an array of keys or { prefix }, got ${target === null ? 'null' : typeof target}`);
  const t = target as Record<string, unknown>;
  const unknown = Object.keys(t).filter((k) => k !== 'prefix' && k !== 'keys');
  if (unknown.length > 0) throw badTarget(`unknown field(s) ${unknown.map((k) => `'${k}'`).join(', ')} in the target`);
  if (typeof t.prefix !== 'string') throw badTarget(t.prefix === undefined ? 'the target has no prefix' : `prefix must be a string, got ${typeof t.prefix}`);
  if (t.prefix === '') throw badTarget('an empty prefix would roll back every key of the database');
  if (t.keys !== undefined) assertKeyList(t.keys, 'keys');
  return { keys: (t.keys as string[] | undefined) ?? [], prefix: t.prefix };
}
