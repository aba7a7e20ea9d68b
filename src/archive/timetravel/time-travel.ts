/**
 * Time travel on archives, without a restore: one document's history, its value at a moment, the
 * difference between two moments, and the values to roll some keys back to. Each answer comes from
 * one in-memory scan (scan.ts) of only the members that can hold the lines it needs, from whichever
 * source has them (ranged reads on a remote), the archives chained in line order and the shipped WAL
 * after them.
 */
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import type { Operation } from '../../format/operation.js';
import type { DbState } from '../../format/state.js';
import type { CatalogArchive } from '../copies/catalog.js';
import type { ArchiveSources } from '../copies/sources.js';
import type { AgeIdentity } from '../crypto/age-keys.js';
import { instanceArchives, parseTimestamp, type RestorePlan } from '../restore/plan.js';
import type { ReadCounter } from './member-bytes.js';
import { startDecoders } from '../package/decoder/member-decoder.js';
import { NameSet, scanWithClosure } from './names.js';
import { LazyDocuments, differences } from './lazy-documents.js';
import { scanTimeline, type ScanInput, type ScanResult, type ShippedLines } from './scan.js';
import { lineage, type HistoryEntry } from './lineage.js';
import { ancestorParts, beforeStartReason, cloneStart, historyStartLine, originAnswering, parentMissing, stateDifferences, type SharedFrom } from './before-origin.js';
import { readableHolder } from './readable-holder.js';
import { withGoodCopies } from './good-copies.js';
import type { FetchedCopy, SourceProblem } from '../copies/fetch.js';
import type { WalTail } from './wal-tail.js';

export type { HistoryEntry } from './lineage.js';

export interface TimeTravelContext {
  archives(source?: string): Promise<CatalogArchive[]>;
  /** The restore plan for the end state or a time (archive, and the shipped WAL after the newest archive). */
  plan(target: { kind: 'latest' } | { kind: 'timestamp'; timestamp: number }, instanceId?: string, source?: string): Promise<RestorePlan>;
  shipped(plan: NonNullable<RestorePlan['shipped']>, age: AgeIdentity | null): ShippedLines;
  sources: ArchiveSources;
  order(source?: string): string[];
  key?: EncryptionKey;
  identity(given?: string | AgeIdentity): Promise<AgeIdentity | null>;
  /** A verified (or repaired) copy of an archive whose copy failed under a query, from the sources in order. */
  goodCopy?(archive: CatalogArchive, source?: string): Promise<FetchedCopy>;
  /** The data directory's own WAL, with the instance it belongs to (null: not a data directory). */
  tail?(): Promise<WalTail | null>;
  /** The state an instance's seed keeps at `line` (a clone's starting state), null when there is none that can be read. */
  seed?(instanceId: string, line: number): Promise<DbState | null>;
}

export interface TimeTravelOptions {
  /** Only this source (a name or a provider). */
  source?: string;
  instanceId?: string;
  /** What opens archives encrypted with age. */
  identity?: string | AgeIdentity;
  /** Told when a copy is passed over or repaired to answer (the answer is still whole). */
  onSourceProblem?: (p: SourceProblem) => void;
}

export interface ReadAnswer {
  key: string;
  at: number;
  exists: boolean;
  /** The stored document (as `bri data dump --json` shows it), null when it did not exist. */
  document: string | null;
  /** When the key names a set at that moment: its members (none for a set emptied by removing them). */
  members?: string[];
  /** What was read to answer. */
  read: ReadCounter;
}

export interface DiffAnswer {
  at: number;
  to: number | null;
  added: string[];
  changed: string[];
  removed: string[];
  sets: Record<string, { added: string[]; removed: string[] }>;
  read: ReadCounter;
}

export interface HistoryAnswer {
  key: string;
  entries: HistoryEntry[];
  /**
   * Lines the history could not read: a hole between archives, or shipped WAL no source gives whole
   * (to the end: `toLine` null). A change there is not in `entries`. Empty when the history is whole.
   */
  missing: Array<{ fromLine: number; toLine: number | null; reason: string }>;
  read: ReadCounter;
}

export interface StateAnswer {
  /** The moment, as the one parser read it (ms since the epoch). */
  at: number;
  state: DbState;
  line: number;
  read: ReadCounter;
}

/** The archives from `first` on, in the order their lines follow (the newest of any two that start at one line). */
function chainFrom(all: CatalogArchive[], first: CatalogArchive): CatalogArchive[] {
  const out = [first];
  let end = first.manifest.timeRange.walLines.end;
  for (;;) {
    const next = all.filter((a) => a.manifest.timeRange.walLines.start >= end && a.manifest.timeRange.walLines.end > end);
    if (next.length === 0) return out;
    const startAt = Math.min(...next.map((a) => a.manifest.timeRange.walLines.start));
    const pick = next.filter((a) => a.manifest.timeRange.walLines.start === startAt).sort((a, b) => a.manifest.createdAt.getTime() - b.manifest.createdAt.getTime()).pop()!;
    out.push(pick);
    end = pick.manifest.timeRange.walLines.end;
  }
}

/**
 * Whether the data directory answers for itself rather than the archives: it is another instance than the
 * one they answer for (restored in place or cloned, nothing of it archived here yet), or a database never
 * archived that holds lines from the first. A new directory with no line yet leaves the answer to them.
 */
async function answersAlone(mine: WalTail, latest: RestorePlan, key: EncryptionKey | undefined): Promise<boolean> {
  if (mine.instanceId !== null) return mine.instanceId !== latest.instanceId;
  return mine.startsAt === 1 && (await mine.segments(key)).length > 0;
}

/**
 * Whether `ts` is before the first line of an instance whose first archive starts at line 0: the
 * empty state (no archive holds that moment, but nothing was written by then). A first archive past
 * line 0 (a clone's) starts from a state made elsewhere, which this one cannot answer before.
 */
function beforeFirstLine(own: CatalogArchive[], ts: number): boolean {
  const first = own[0]?.manifest;
  return first !== undefined && first.timeRange.walLines.start === 0 && ts < first.timeRange.start.getTime();
}

/**
 * After a scan that read the data directory: a moment it did not stop at (past every line read) is
 * answered when it is not past the newest moment the input knows, nor the last line's time. The
 * database's clock may be ahead of the reader's: its lines are then stamped after the reading, and a
 * moment among them is answered as a restore to it restores it.
 */
function notPastRead(ts: number, input: { tail?: WalTail | null; newest: number | null }, r: ScanResult): void {
  if (input.tail && !r.cut && input.newest !== null) notAfter(ts, Math.max(input.newest, r.timestamp ?? input.newest));
}

/** A moment past the newest one that can be answered whole is not answered from what is there so far. */
function notAfter(ts: number, newest: number): void {
  if (ts <= newest) return;
  throw new BriError(ErrorCodes.TIMESTAMP_NOT_FOUND, `${new Date(ts).toISOString()} is after the newest moment that can be answered (${new Date(newest).toISOString()})`, {
    hint: 'Ask for an earlier moment (`bri restore list` shows what the archives and the shipped WAL hold).',
    details: { timestamp: ts, newest },
  });
}

export class TimeTravel {
  constructor(private readonly ctx: TimeTravelContext) {}

  /**
   * What a finished scan leaves to say: shipments taken from another source, and where the shipped WAL
   * broke. A break before `wanted` (the moment the answer is for) is TIMESTAMP_NOT_FOUND: the lines up to
   * that moment cannot all be read, and an answer from fewer would be wrong. Without a moment (the newest
   * one), the answer is for the last line read, and that is said.
   */
  private settle(r: ScanResult, o: TimeTravelOptions, wanted: number | null): void {
    const b = r.broken;
    if (b !== null && wanted !== null && (r.timestamp === null || wanted > r.timestamp)) {
      const newest = r.timestamp === null ? 'none' : new Date(r.timestamp).toISOString();
      throw new BriError(ErrorCodes.TIMESTAMP_NOT_FOUND, `what can be read breaks at line ${b.fromLine} (${b.source}: ${b.reason}): ${new Date(wanted).toISOString()} cannot be answered; the newest moment before the break is ${newest}`, {
        hint: 'Ask for an earlier moment, or bring the missing archive or shipment back (another source may hold it: --source).',
        details: { brokenAt: b.fromLine, newest: r.timestamp },
      });
    }
    // The problem that ended what can be read is said once, with where the answer stops.
    for (const p of r.problems) if (b === null || p.source !== b.source || p.reason !== b.reason) o.onSourceProblem?.(p);
    if (b !== null) o.onSourceProblem?.({ source: b.source, reason: `from line ${b.fromLine}: ${b.reason}; the answer stops at line ${r.line}` });
  }

  /** Runs a scan of `input`, again from a good copy of an archive whose copy failed (good-copies.ts). */
  private resilient<T>(input: ScanInput, o: TimeTravelOptions, scan: () => Promise<T>): Promise<T> {
    const find = this.ctx.goodCopy ? (a: CatalogArchive) => this.ctx.goodCopy!(a, o.source) : undefined;
    return withGoodCopies(input, find, o.onSourceProblem, scan);
  }

  /**
   * The scan's input, made once per query (a scan that starts again with more names reads the same
   * members): the archives from the one holding `from` (or the instance's first) on, then the shipped WAL
   * after the newest.
   */
  private async input(opts: TimeTravelOptions, from: { ts: number } | 'first', counter: ReadCounter): Promise<ScanInput & { newest: number | null; sharedFrom?: SharedFrom }> {
    startDecoders();
    const all = await this.ctx.archives(opts.source);
    // The data directory's WAL is read after the archives and shipments, unless one source was asked for.
    const mine = opts.source === undefined && this.ctx.tail ? await this.ctx.tail() : null;
    let latest: RestorePlan | null = null;
    try {
      latest = await this.ctx.plan({ kind: 'latest' }, opts.instanceId, opts.source);
    } catch (err) {
      // Nothing archived or shipped yet: the directory's WAL alone.
      if (!isBriError(err, ErrorCodes.ARCHIVE_NOT_FOUND) || opts.instanceId !== undefined || mine === null) throw err;
    }
    // The instance the archives would answer for, when it is not the directory's (named where a moment is not here).
    const others = latest !== null && mine !== null && latest.instanceId !== mine.instanceId ? latest.instanceId : null;
    let tail: WalTail | null = mine !== null && latest !== null && others === null ? mine : null;
    if (mine !== null && opts.instanceId === undefined && (latest === null || (await answersAlone(mine, latest, this.ctx.key)))) {
      // The directory's own history is its seed and WAL; the archives here are another instance's.
      latest = null;
      tail = mine;
    }
    let sharedFrom: SharedFrom | undefined;
    const parent = from !== 'first' && latest === null && opts.instanceId === undefined ? originAnswering(tail, all, from.ts) : undefined;
    if (parent !== undefined) {
      // Before the directory's instance began, nothing of it archived yet: the instance it came from answers.
      [latest, tail, sharedFrom] = [await this.ctx.plan({ kind: 'latest' }, parent.instanceId, opts.source), null, parent];
    }
    let own = latest?.archive ? instanceArchives(all, latest.instanceId).archives : [];
    let first: CatalogArchive | null;
    if (from === 'first' || beforeFirstLine(own, from.ts)) first = own[0] ?? null;
    else {
      // The archive holding the time, else (past the archives) the newest one, which the shipped WAL and the data directory continue.
      const plan =
        latest === null
          ? null
          : await this.ctx.plan({ kind: 'timestamp', timestamp: from.ts }, latest.instanceId, opts.source).catch((err: unknown) => {
              const newest = own.at(-1);
              if (tail !== null && newest && isBriError(err, ErrorCodes.TIMESTAMP_NOT_FOUND) && from.ts >= newest.manifest.timeRange.start.getTime()) return latest!;
              throw err;
            });
      if (plan !== null && latest !== null && plan.instanceId !== latest.instanceId) {
        sharedFrom = { instanceId: plan.instanceId };
        [latest, tail] = [plan, null];
        own = instanceArchives(all, plan.instanceId).archives;
      }
      first = plan?.archive ? (own.find((a) => a.manifest.archiveId === plan.archive!.manifest.archiveId) ?? null) : null;
      if (first !== null) first = await readableHolder(own, first, from.ts, () => this.ctx.identity(opts.identity));
    }
    const archives = first ? chainFrom(own, first) : [];
    const shippedAge = [latest?.shipped?.refs ?? [], ...(latest?.shipped?.others.map((x) => x.refs) ?? [])].some((refs) => refs.some((r) => r.encrypted));
    const age = archives.some((a) => a.manifest.encryption) || shippedAge ? await this.ctx.identity(opts.identity) : null;
    const shipped = latest?.shipped;
    const shippedAfter = shipped && (archives.length === 0 || archives.at(-1)!.manifest.timeRange.walLines.end === shipped.afterLine) ? this.ctx.shipped(shipped, age) : null;
    // The newest moment answered whole: the end of the shipped WAL or the newest archive's seal (as a restore's
    // plan takes them); with the directory, what was written by the time it was read, at the latest (its lines
    // after them are stamped later still: a scan reading them says how much, notPastRead).
    const sealed = own.at(-1)?.manifest.timeRange.sealedAt.getTime() ?? null;
    const ended = shipped ? (shipped.endTime === null ? null : Math.max(shipped.endTime, sealed ?? 0)) : sealed;
    const newest = tail !== null ? Math.max(tail.readAt, ended ?? 0) : ended;
    const start = latest === null && tail !== null ? await cloneStart(tail, from, others, this.ctx.seed) : undefined;
    return { newest, archives, shipped: shippedAfter, tail, ...(start ? { start } : {}), ...(sharedFrom !== undefined ? { sharedFrom } : {}), sources: this.ctx.sources, order: this.ctx.order(opts.source), ...(this.ctx.key ? { key: this.ctx.key } : {}), age, counter };
  }

  /** The document (and set) `key` as it was at T, or that it did not exist. */
  async read(key: string, o: TimeTravelOptions & { at: number | string }): Promise<ReadAnswer> {
    const ts = parseTimestamp(o.at);
    const read: ReadCounter = { bytes: 0, requests: 0 };
    const names = new NameSet([key]);
    const input = await this.input(o, { ts }, read);
    const r = await this.resilient(input, o, () => scanWithClosure(names, () => scanTimeline(input, { untilTs: ts, names })));
    this.settle(r, o, ts);
    notPastRead(ts, input, r);
    const state = r.state;
    const doc = state.documents.get(key);
    const set = state.collections.get(key);
    // A set whose members were all removed still exists, empty, as the store holds it.
    return { key, at: ts, exists: doc !== undefined || set !== undefined, document: doc ?? null, ...(set ? { members: [...set] } : {}), read };
  }

  /** The values at T of `keys` (or of every name under `prefix`): the part of the state at T that holds them. */
  async valuesAt(keys: string[], prefix: string | null, o: TimeTravelOptions & { at: number | string }): Promise<StateAnswer> {
    const ts = parseTimestamp(o.at);
    const read: ReadCounter = { bytes: 0, requests: 0 };
    const names = new NameSet(keys, prefix);
    const input = await this.input(o, { ts }, read);
    const r = await this.resilient(input, o, () => scanWithClosure(names, () => scanTimeline(input, { untilTs: ts, names })));
    this.settle(r, o, ts);
    notPastRead(ts, input, r);
    return { at: ts, state: new NameSet(keys, prefix).restrict(r.state), line: r.line, read };
  }

  /** The changes to one document, oldest first, following renames both ways, between `from` and `to`. */
  async history(key: string, o: TimeTravelOptions & { from?: number | string; to?: number | string }): Promise<HistoryAnswer> {
    const from = o.from !== undefined ? parseTimestamp(o.from) : null;
    const to = o.to !== undefined ? parseTimestamp(o.to) : null;
    if (from !== null && to !== null && to < from) throw new BriError(ErrorCodes.USAGE, '--to is before --from', { hint: 'Give the earlier time as --from.' });
    const read: ReadCounter = { bytes: 0, requests: 0 };
    // (The document goes on under the new name of a rename away from a followed one: followed too.)
    const names = new NameSet([key], null, true);
    const ops: Array<{ op: Operation; line: number; timestamp: number; before: { value: string | null; members: string[] | null } }> = [];
    // From the first line whatever `from`: a rename before it says under which names the document goes on.
    const input = await this.input(o, 'first', read);
    // (A history from a moment not yet come is refused as one to it is: no line of it can be read yet. With the
    // data directory, once it is read: its lines may be stamped after now.)
    const until = to ?? from;
    if (until !== null && !input.tail && input.newest !== null) notAfter(until, input.newest);
    const start = historyStartLine(input, from);
    // Lines before the directory's instance began: the instance it came from holds them, up to there (before-origin.ts).
    const parents = start !== null && !start.expired ? await ancestorParts(input, start.line, await this.ctx.archives(o.source), (instanceId) => this.input({ ...o, instanceId }, 'first', read)) : [];
    const collect = (through: number) => (op: Operation, at: { line: number; timestamp: number }, state: DbState) => {
      if (at.line > through) return;
      const from = op.action === 'RENAME' ? op.oldKey : op.target;
      const set = state.collections.get(op.target);
      ops.push({ op, ...at, before: { value: state.documents.get(from) ?? null, members: set ? [...set] : null } });
    };
    const both = parents.length > 0 ? { ...input, archives: [...parents.flatMap((p) => p.input.archives), ...input.archives] } : input;
    const [prs, r] = await this.resilient(both, o, () =>
      scanWithClosure(names, async () => {
        ops.length = 0;
        const prs: ScanResult[] = [];
        for (const p of parents) {
          p.input.goodCopies = both.goodCopies;
          prs.push(await scanTimeline(p.input, { untilTs: to, names, onOp: collect(p.through) }));
        }
        input.goodCopies = both.goodCopies;
        return [prs, await scanTimeline(input, { untilTs: to, names, onOp: collect(Infinity) })] as const;
      }),
    );
    this.settle(r, o, to);
    if (until !== null) notPastRead(until, input, r);
    // A change among lines no archive holds is not in the history: said, with where.
    for (const h of r.holes) o.onSourceProblem?.({ source: 'archives', reason: `lines ${h.fromLine}..${h.toLine} are in no archive read: a change to ${key} there is not in this history` });
    const entries = lineage(key, ops).filter((e) => from === null || e.timestamp >= from);
    const missing: HistoryAnswer['missing'] = r.holes.map((h) => ({ ...h, reason: 'in no archive read' }));
    if (parents.length > 0) {
      const before = parents.flatMap((p, i) => parentMissing(p.input, prs[i]!, p.through, from, i === 0));
      for (const p of [...prs.flatMap((pr) => pr.problems), ...before.map((m) => ({ source: 'archives', reason: `lines ${m.fromLine}..${m.toLine} are ${m.reason}: a change to ${key} there is not in this history` }))]) o.onSourceProblem?.(p);
      missing.unshift(...before);
    }
    if (start !== null && parents.length === 0) {
      const before = { fromLine: 1, toLine: start.line, reason: beforeStartReason(start, input) };
      missing.unshift(before);
      o.onSourceProblem?.({ source: 'archives', reason: `lines 1..${before.toLine} are ${before.reason}: a change to ${key} there is not in this history` });
    }
    if (r.broken) missing.push({ fromLine: r.broken.fromLine, toLine: null, reason: `${r.broken.source}: ${r.broken.reason}` });
    return { key, entries, missing, read };
  }

  /** The documents and set members that differ between T and T2 (default: the newest restorable moment). */
  async diff(o: TimeTravelOptions & { at: number | string; to?: number | string }): Promise<DiffAnswer> {
    const at = parseTimestamp(o.at);
    const to = o.to !== undefined ? parseTimestamp(o.to) : null;
    if (to !== null && to < at) throw new BriError(ErrorCodes.USAGE, '--to is before --at', { hint: 'Give the earlier moment as --at.' });
    const read: ReadCounter = { bytes: 0, requests: 0 };
    const input = await this.input(o, { ts: at }, read);
    // (T2 may be along another instance's history, the directory's or one between: each state is read where it is.)
    if (input.sharedFrom !== undefined) return this.diffAcross(input, at, to, o, read);
    if (to !== null && !input.tail && input.newest !== null) notAfter(to, input.newest);
    // One scan to T2, documents held undecoded; from T on, each document and set member is recorded as it
    // was the first time a line touches it, and only those are compared at the end (nothing is copied at T).
    const { lazy, r } = await this.resilient(input, o, async () => {
      const lazy = new LazyDocuments();
      const r = await scanTimeline(input, {
        untilTs: to,
        names: null,
        lazy,
        onOp: (op) => lazy.touchOp(op),
        mark: { at, take: () => lazy.recordChanges() },
      });
      return { lazy, r };
    });
    // Without T2, the newest moment read: T must not be past it.
    this.settle(r, o, to ?? at);
    notPastRead(to ?? at, input, r);
    // (The scan marks T once, at the latest when it ends.)
    const out: DiffAnswer = { at, to, ...differences(lazy.changesSince()!, lazy, r.state), read };
    out.added.sort();
    out.changed.sort();
    out.removed.sort();
    return out;
  }

  /**
   * A diff from a moment before the directory's instance began (`input` reads the instance it came from,
   * before-origin.ts): the state then, and the state at `to` along the directory's own history (read from
   * whichever instance answers for it), compared.
   */
  private async diffAcross(input: ScanInput, at: number, to: number | null, o: TimeTravelOptions, read: ReadCounter): Promise<DiffAnswer> {
    const then = await this.resilient(input, o, () => scanTimeline(input, { untilTs: at, names: null }));
    this.settle(then, o, at);
    const mine = await this.input(o, to === null ? 'first' : { ts: to }, read);
    if (to !== null && !mine.tail && mine.newest !== null) notAfter(to, mine.newest);
    const now = await this.resilient(mine, o, () => scanTimeline(mine, { untilTs: to, names: null }));
    this.settle(now, o, to);
    if (to !== null) notPastRead(to, mine, now);
    const out: DiffAnswer = { at, to, ...stateDifferences(then.state, now.state), read };
    out.added.sort();
    out.changed.sort();
    out.removed.sort();
    return out;
  }
}

