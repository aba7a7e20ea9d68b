/**
 * Where an instance's history starts, and the moments before it. A directory cloned or restored to an
 * earlier moment begins a new instance on a line of the one it came from: up to that line the two share
 * one history, kept in the older instance's archives. A moment there is answered from those (the planner
 * picks them, restore/planner.ts), and a difference from such a moment to one of the new instance's
 * compares the two states, each read from the instance that holds it.
 */
import type { DbState } from '../../format/state.js';
import { setField } from '../../format/jss.js';
import { BriError, ErrorCodes } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { ancestry, originInstance } from '../restore/own-database.js';
import type { ScanInput, ScanResult } from './scan.js';
import type { WalTail } from './wal-tail.js';

/** The instance that answers a moment before the directory's own began. */
export interface SharedFrom {
  instanceId: string;
}

/**
 * The line a history's lines start after, when lines before it are asked for and cannot be read: a clone's
 * starting state (read alone, or the start of its first archive, which has no archive before it), or the
 * start of the oldest archive any source holds when the ones before it are gone (expired by retention,
 * deleted): `expired` then. Null when the history starts at line 0, or reaches no line before its first archive.
 */
export function historyStartLine(input: ScanInput, from: number | null): { line: number; expired: boolean } | null {
  if (input.start) return input.start.line > 0 ? { line: input.start.line, expired: false } : null;
  const first = input.archives[0]?.manifest;
  if (!first || first.timeRange.walLines.start === 0) return null;
  // A history from a moment the first archive's starting state already holds does not reach before it.
  if (from !== null && from > first.timeRange.start.getTime()) return null;
  return { line: first.timeRange.walLines.start, expired: first.previousArchiveId !== null };
}

/** Why the lines before a history's start are not in it. */
export function beforeStartReason(start: { line: number; expired: boolean }, input: ScanInput): string {
  if (start.expired) return `before the oldest archive any source holds (${input.archives[0]!.manifest.archiveId}): the archives before it are in no source (expired by retention, or deleted)`;
  const cloned = input.start !== undefined || input.tail?.origin?.line === start.line;
  return cloned ? "before this directory's history starts: in the archives of the instance it was cloned or restored from" : "before this instance's first archive: in no archive of it";
}

/** The documents added, changed and removed, and the set members added and removed, from state `was` to state `is`. */
export function stateDifferences(was: DbState, is: DbState): { added: string[]; changed: string[]; removed: string[]; sets: Record<string, { added: string[]; removed: string[] }> } {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [k, v] of is.documents) {
    const before = was.documents.get(k);
    if (before === undefined) added.push(k);
    else if (before !== v) changed.push(k);
  }
  for (const k of was.documents.keys()) if (!is.documents.has(k)) removed.push(k);
  const sets: Record<string, { added: string[]; removed: string[] }> = {};
  for (const name of new Set([...was.collections.keys(), ...is.collections.keys()])) {
    const a = was.collections.get(name);
    const b = is.collections.get(name);
    const plus = b ? [...b].filter((m) => !a?.has(m)) : [];
    const minus = a ? [...a].filter((m) => !b?.has(m)) : [];
    // (A set named __proto__ is a field like any other.)
    if (plus.length || minus.length) setField(sets, name, { added: plus.sort(), removed: minus.sort() });
  }
  return { added, changed, removed, sets };
}

/**
 * A directory answered alone whose WAL starts past line 1 (a clone, a restore to an earlier moment):
 * its starting state, kept as a seed when it was restored, with the pointer its first line continues.
 * A moment before it is in the archives of the instance it came from, not here (`others`: the
 * instance the archives here are of, if any). Without that state, no moment of it can be answered.
 */
export async function cloneStart(tail: WalTail, from: { ts: number } | 'first', others: string | null, seed: ((instanceId: string, line: number) => Promise<DbState | null>) | undefined): Promise<ScanInput['start']> {
  if (tail.startsAt === 1) return undefined;
  const o = tail.origin;
  const state = tail.instanceId !== null && o !== null && o.line === tail.startsAt - 1 && seed ? await seed(tail.instanceId, o.line) : null;
  const ask = others !== null ? `the archives here are instance ${others}'s: --instance ${others} asks them` : 'its archives may be elsewhere: --archive-dir where they are, or --instance with the id of the one it came from';
  if (state === null || o === null) {
    throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `this data directory (instance ${tail.instanceId ?? 'never archived'}) starts at line ${tail.startsAt}: its state before that is in no archive of it and no seed that can be read here`, {
      hint: `Ask where its history is kept (${ask}).`,
      details: { instanceId: tail.instanceId, startsAt: tail.startsAt },
    });
  }
  if (from !== 'first' && from.ts < o.timestamp) {
    throw new BriError(ErrorCodes.TIMESTAMP_NOT_FOUND, `${new Date(from.ts).toISOString()} is before this directory's history starts (line ${o.line}, ${new Date(o.timestamp).toISOString()}): it was cloned or restored from another instance's archives, which hold that moment`, {
      hint: `Ask the archives of the instance it came from (${ask}).`,
      details: { timestamp: from.ts, startsAt: o.timestamp, ...(others !== null ? { instanceId: others } : {}) },
    });
  }
  return { line: o.line, pointer: o.pointer, timestamp: o.timestamp, state };
}

/** What the directory's record says of where it began: its origin, and how far a restore took the lines of the instance it came from. */
function restoreRecord(tail: WalTail): { origin?: NonNullable<WalTail['origin']>; restoredThrough?: number; restoredThroughTime?: number; restoredFrom?: string } {
  const { restoredThrough, restoredThroughTime, restoredFrom } = tail;
  return { ...(tail.origin ? { origin: tail.origin } : {}), ...(restoredThrough !== undefined ? { restoredThrough } : {}), ...(restoredThroughTime !== undefined ? { restoredThroughTime } : {}), ...(restoredFrom !== undefined ? { restoredFrom } : {}) };
}

/**
 * The instance that answers moment `ts` of a directory answered alone (nothing of its instance archived
 * yet) when `ts` is before its history starts: the one it was cloned or restored from, if the archives read
 * hold it. Up to its origin's time the two share one history.
 */
export function originAnswering(tail: WalTail | null, archives: ReadonlyArray<{ manifest: Manifest }>, ts: number): SharedFrom | undefined {
  const origin = tail?.origin;
  if (origin == null || ts >= origin.timestamp) return undefined;
  const instanceId = originInstance(restoreRecord(tail!), archives);
  return instanceId === undefined ? undefined : { instanceId };
}

/** The part of `input` (another instance's archives and shipped WAL) that holds lines up to `through`. */
function upToLine(input: ScanInput, through: number): ScanInput {
  const archives = input.archives.filter((a) => a.manifest.timeRange.walLines.start < through);
  const last = archives.at(-1)?.manifest.timeRange.walLines.end;
  return { ...input, archives, shipped: last === undefined || last < through ? input.shipped : null, tail: null };
}

/**
 * What a history could not read of lines 1..`through`, taken from an instance the directory came from
 * (`parent`, read as `r`); the lines before its own start only for the `oldest` one (the others start where
 * the one before them ends).
 */
export function parentMissing(parent: ScanInput, r: ScanResult, through: number, from: number | null, oldest: boolean): Array<{ fromLine: number; toLine: number | null; reason: string }> {
  const start = oldest ? historyStartLine(parent, from) : null;
  const missing: Array<{ fromLine: number; toLine: number | null; reason: string }> = start === null ? [] : [{ fromLine: 1, toLine: start.line, reason: beforeStartReason(start, parent) }];
  for (const h of r.holes) if (h.fromLine <= through) missing.push({ ...h, toLine: Math.min(h.toLine, through), reason: 'in no archive read' });
  if (r.broken && r.broken.fromLine <= through) missing.push({ fromLine: r.broken.fromLine, toLine: through, reason: `${r.broken.source}: ${r.broken.reason}` });
  return missing;
}

/**
 * The instances a history's own (the directory's, or the one named) came from (a restore of a restore
 * reaches back through each), oldest first, each read (`read`, from its first archive) up to the line the
 * next one (or its own history, at `through`) starts after. `all`: the archives of the sources asked.
 */
export async function ancestorParts(input: ScanInput, through: number, all: ReadonlyArray<{ manifest: Manifest }>, read: (instanceId: string) => Promise<ScanInput>): Promise<Array<{ input: ScanInput; through: number }>> {
  const tail = input.tail;
  const id = input.archives[0]?.manifest.instanceId ?? tail?.instanceId ?? undefined;
  if (id === undefined) return [];
  // The directory's record says where its instance began; any other's first archive does.
  const line = ancestry(tail?.instanceId === id && tail.origin ? restoreRecord(tail) : {}, id, all);
  const parts: Array<{ input: ScanInput; through: number }> = [];
  for (const [i, a] of line.entries()) {
    const upTo = i === 0 ? through : a.line;
    parts.unshift({ input: upToLine(await read(a.instanceId), upTo), through: upTo });
  }
  return parts;
}
