/**
 * The one replay every time-travel query runs: from the starting snapshot of the first archive it
 * is given, through the WAL members of the archives that follow in line order, then the shipped WAL,
 * up to a time, in memory (nothing is written). Only the members that can hold a line at or before
 * that time are read (the manifest's per-segment times pick them), each alone (member-bytes.ts).
 * With a set of names, a line whose raw text names none of them is skipped before it is parsed; the
 * names the answer turns out to need (documents renamed into them) are said at the end (NeedNames).
 */
import type { EncryptionKey } from '../../format/encryption.js';
import { SNAPSHOT_MEMBER, type Manifest, type ManifestSegment } from '../../format/manifest.js';
import type { Operation } from '../../format/operation.js';
import { decodeSnapshot } from '../../format/snapshot-file.js';
import { applyOperation, emptyState, type DbState } from '../../format/state.js';
import { parseWalLine } from '../../format/wal-line.js';
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import { lineOperation } from '../../store/wal/wal-entry.js';
import { joinsChain, pointerOf } from './chain-link.js';
import { LineClock, memberEndTime } from '../../format/line-time.js';
import type { CatalogArchive } from '../copies/catalog.js';
import type { ArchiveSources } from '../copies/sources.js';
import type { AgeIdentity } from '../crypto/age-keys.js';
import { decryptChunks } from '../crypto/age-stream.js';
import { identityMissing } from '../crypto/errors.js';
import { decompressChunks } from '../package/compress.js';
import { checkSnapshotSize } from '../package/reader.js';
import { assertArchivesContinue } from '../restore/chain-continuity.js';
import { splitLineBatches } from '../package/replay.js';
import type { ShippedInput } from '../shipping/restore-shipped.js';
import type { ShipmentRef } from '../shipping/shipment.js';
import type { SourceProblem } from '../copies/fetch.js';
import { MemberSource, collect, type ReadCounter } from './member-bytes.js';
import { DecodedMember, type DecodeMode } from '../package/decoder/member-decoder.js';
import { MemberFeed, planMembers } from './member-feed.js';
import { readRawLine, type LazyDocuments } from './lazy-documents.js';
import { NeedNames, type NameSet } from './names.js';
import type { TailSegment, WalTail } from './wal-tail.js';
import { BadLine, archiveLineError, asBadLine, shippedLineError, walLineError } from './bad-line.js';

/** The shipped WAL after the archives: each source's shipments, the chosen source first. */
export type ShippedLines = ShippedInput;

export interface ScanInput {
  /** The instance's archives, in line order, from the one whose snapshot starts the scan; empty: the empty state at line 0. */
  archives: CatalogArchive[];
  /** The shipped WAL after the last of them. */
  shipped: ShippedLines | null;
  /** The data directory's own WAL, read after both where it continues their chain (wal-tail.ts). */
  tail?: WalTail | null;
  /** Without archives: the state the WAL continues (a clone's starting seed), else the empty state at line 0. */
  start?: { line: number; pointer: string; timestamp: number; state: DbState };
  sources: ArchiveSources;
  order: string[];
  key?: EncryptionKey;
  age: AgeIdentity | null;
  counter: ReadCounter;
  /** Archives read from a verified (or repaired) local copy instead of their catalog copies: archive id -> file. */
  goodCopies?: ReadonlyMap<string, string>;
}

export type LinePosition = { line: number; timestamp: number };

export interface ScanOptions {
  /** Lines stamped after this are not applied (null: to the end). */
  untilTs: number | null;
  /** The names the answer needs (null: every one). */
  names: NameSet | null;
  /** Each operation on the names, before it is applied: `state` is the state just before it. */
  onOp?(op: Operation, at: LinePosition, state: DbState): void;
  /**
   * Documents held undecoded (a whole-state replay): plaintext SET, DELETE and RENAME lines are applied
   * by their keys alone.
   */
  lazy?: LazyDocuments;
  /** Told the state as it was at `at`, once: just before the first line stamped later is applied (or a later archive's snapshot replaces the state), else at the end. */
  mark?: { at: number; take(state: DbState): void };
}

export interface ScanResult {
  state: DbState;
  /** The last line applied and its time (the snapshot's line when none was). */
  line: number;
  timestamp: number | null;
  /** Shipments that failed on a source (taken from another one, or not at all). */
  problems: SourceProblem[];
  /** Where what can be read ends before the time: no source gives the next line, later ones exist (null: it did not). */
  broken: { source: string; fromLine: number; reason: string } | null;
  /** Lines between two archives that no archive read holds, passed (the later archive's snapshot has the state after them). */
  holes: Array<{ fromLine: number; toLine: number }>;
  /** Whether the scan stopped at the time (a later line is there): false when it read every line it could. */
  cut: boolean;
}

/** Thrown by a scan when reading one archive failed (a damaged member, a copy that cannot be read): which one, and why. */
export class UnreadableArchive {
  constructor(
    readonly archiveId: string,
    readonly cause: unknown,
  ) {}
}

function damaged(message: string): BriError {
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, message, { hint: 'Verify and repair the archive (`bri archive verify`, `bri archive repair`).' });
}

export async function scanTimeline(input: ScanInput, opts: ScanOptions): Promise<ScanResult> {
  const names = opts.names;
  const start = input.archives.length === 0 ? (input.start ?? null) : null;
  // (A copy: a scan that starts again with more names starts from the same state.)
  let state = start === null ? emptyState() : names === null ? { documents: new Map(start.state.documents), collections: new Map([...start.state.collections].map(([k, v]) => [k, new Set(v)])) } : names.restrict(start.state);
  let line = input.archives[0]?.manifest.timeRange.walLines.start ?? start?.line ?? 0;
  let timestamp: number | null = start?.timestamp ?? null;
  /** Lines are taken at their effective times (format/line-time.ts): the lines up to a time are a prefix. */
  let clock = new LineClock(timestamp);
  /** The pointer of the last line passed, where it is known (an archive's ends, each line of the WAL after them). */
  let pointer = input.archives[0]?.manifest.chain.prevPointer ?? start?.pointer ?? '';
  let stopped = false;
  /** The seal of the last archive read to its end: no line was written between its last one and then. */
  let sealed = Number.NEGATIVE_INFINITY;
  const until = opts.untilTs;
  const needles = names?.needles() ?? null;
  const needleBytes = needles?.map((n) => Buffer.from(n, 'utf8')) ?? null;
  const lazy = opts.lazy ?? null;
  lazy?.attach(state);
  let mark = opts.mark ?? null;
  /** Called with each line's time before it is applied. */
  const passing = (ts: number) => {
    if (mark === null || ts <= mark.at) return;
    mark.take(state);
    mark = null;
  };

  const apply = (text: string): boolean => {
    if (needles !== null && text.charCodeAt(text.indexOf('|', text.indexOf('|') + 1) + 1) === 0x7b && !needles.some((n) => text.includes(n))) {
      // Not one of the names (a plaintext entry names its keys in its JSON): only its time matters.
      const stamp = Number(text.slice(0, text.indexOf('|')));
      if (!Number.isSafeInteger(stamp) || stamp < 0) throw new BadLine(line + 1, 'line does not parse');
      const ts = clock.time(stamp, line + 1);
      if (until !== null && ts > until) return false;
      passing(ts);
      line++;
      timestamp = ts;
      return true;
    }
    const quick = lazy !== null && names === null ? readRawLine(text) : null;
    let ts: number;
    let op: Operation;
    if (quick !== null) {
      ts = clock.time(quick.timestamp, line + 1);
      if (until !== null && ts > until) return false;
      const raw = quick.op;
      passing(ts);
      if (raw.action !== 'SADD' && raw.action !== 'SREM') {
        line++;
        timestamp = ts;
        lazy!.apply(raw);
        return true;
      }
      // A set operation read by its keys is the operation itself (no JSON.parse of the entry).
      op = raw;
    } else {
      const parsed = parseWalLine(text);
      if (parsed === null) throw new BadLine(line + 1, 'line does not parse');
      ts = clock.time(parsed.timestamp, line + 1);
      if (until !== null && ts > until) return false;
      passing(ts);
      try {
        op = lineOperation(parsed, input.key);
      } catch (err) {
        throw asBadLine(err, line + 1);
      }
    }
    if (lazy !== null) {
      lazy.settle(op.target);
      if (op.action === 'RENAME') lazy.settle(op.oldKey);
    }
    line++;
    timestamp = ts;
    if (names !== null && op.action === 'RENAME') names.passedRename(op.oldKey, op.target);
    if (names === null || names.concerns(op)) {
      opts.onOp?.(op, { line, timestamp: ts }, state);
      applyOperation(state, op);
    }
    return true;
  };

  const members = input.archives.map((a) => new MemberSource(a, input.sources, input.order, input.counter, input.goodCopies?.get(a.manifest.archiveId)));
  const open = (i: number, name: string) => {
    const m = input.archives[i]!.manifest;
    // Asked of an archive actually read only: a time before an encrypted archive's first line is read from the one before it.
    if (m.encryption && !input.age) throw identityMissing(`archive ${m.archiveId}`);
    const stored = members[i]!.stored(name);
    return m.encryption ? decryptChunks(stored, input.age, name) : stored;
  };
  // A member wholly before the time, with plaintext entries, is searched for the names on its bytes. Not one whose
  // times go back: the lines found there are told at their effective times, which the lines skipped decide.
  const modeOf = (m: Manifest, seg: ManifestSegment): DecodeMode =>
    needleBytes !== null && !m.contents.snapshot.encrypted && seg.timesBack === undefined && (until === null || (seg.lastTimestamp !== null && seg.lastTimestamp <= until)) ? { kind: 'filter', needles: needleBytes } : { kind: 'lines' };
  const feed = new MemberFeed(planMembers(input.archives, until), async (item) => {
    const seg = item.segment;
    const m = input.archives[item.archive]!.manifest;
    const job = { member: seg.file, limit: seg.originalSize, mode: modeOf(m, seg), lines: seg.lastLine - seg.firstLine + 1 };
    // Age-encrypted bytes are checked and opened here; plain ones are checked on the decoder thread.
    if (m.encryption) return new DecodedMember(await collect(open(item.archive, seg.file)), job);
    const { data, stored } = await members[item.archive]!.whole(seg.file);
    return new DecodedMember(data, { ...job, stored });
  });
  /**
   * Applies a member's lines in order; false once past the time. With `toEnd`, the batches are read to
   * their end even then (decoded here, the stored hash is checked at the end of the bytes).
   */
  const applyLines = async (batches: AsyncIterable<string[]>, toEnd: boolean): Promise<boolean> => {
    let more = true;
    for await (const batch of batches) {
      for (const text of batch) {
        if (!more) break;
        if (text.length > 0) more = apply(text);
      }
      if (!more && !toEnd) break;
    }
    return more;
  };
  let first = true;
  const problems: SourceProblem[] = [];
  let broken: ScanResult['broken'] = null;
  const holes: ScanResult['holes'] = [];
  /** The archive being read, to name it when reading fails, and its member. */
  let reading: string | null = null;
  let member: ManifestSegment | null = null;
  assertArchivesContinue(input.archives.map((a) => a.manifest));
  try {
    for (const [i, a] of input.archives.entries()) {
      if (stopped) break;
      const m = a.manifest;
      reading = m.archiveId;
      if (i > 0 && until !== null && m.timeRange.start.getTime() > until && m.timeRange.walLines.start === line) {
        // The time is past: what follows (this archive, the shipped WAL) is not read.
        stopped = true;
        break;
      }
      if (i === 0 || m.timeRange.walLines.start > line) {
        if (i > 0) {
          // Lines between the archives are in no archive read. A time before the next archive starts and after
          // the seal of the last one read may fall among them. Past it, the next snapshot makes the state whole.
          const hole = { fromLine: line + 1, toLine: m.timeRange.walLines.start };
          if (until !== null && m.timeRange.start.getTime() > until) {
            if (until > sealed) broken = { source: 'archives', fromLine: hole.fromLine, reason: `lines ${hole.fromLine}..${hole.toLine} are in no archive read` };
            stopped = true;
            break;
          }
          holes.push(hole);
          // The state before the gap is the one at the mark.
          passing(Number.POSITIVE_INFINITY);
        }
        lazy?.settleAll();
        checkSnapshotSize(m);
        const parts: Buffer[] = [];
        for await (const c of decompressChunks(open(i, m.contents.snapshot.file), m.contents.snapshot.file ?? SNAPSHOT_MEMBER, m.contents.snapshot.originalSize)) parts.push(c);
        const snap = decodeSnapshot(Buffer.concat(parts).toString('utf8'), input.key);
        state = names === null ? snap.state : names.restrict(snap.state);
        lazy?.attach(state);
        line = m.timeRange.walLines.start;
        timestamp = m.timeRange.start.getTime();
        clock = new LineClock(timestamp);
        pointer = m.chain.prevPointer;
      }
      for (const seg of m.contents.segments) {
        if (seg.lastLine <= line) continue;
        member = seg;
        if (until !== null && seg.firstTimestamp !== null && seg.firstTimestamp > until) {
          stopped = true;
          break;
        }
        if (seg.firstLine !== line + 1) throw damaged(`${seg.file} starts at line ${seg.firstLine}, line ${line + 1} was expected`);
        const mode = modeOf(m, seg).kind;
        if (first && mode === 'lines') {
          // The first member is decoded here while the decoder threads start (about 60 ms, then its decode).
          first = false;
          feed.pass(i, seg);
          if (!(await applyLines(splitLineBatches(decompressChunks(open(i, seg.file), seg.file, seg.originalSize), seg.file), true))) {
            stopped = true;
            break;
          }
          continue;
        }
        first = false;
        const decoded = await feed.take(i, seg);
        if (mode === 'filter') {
          // Only the lines that name a followed key come back, with their places in the member.
          const base = line;
          for await (const found of decoded.found()) {
            for (const [j, text] of found.texts.entries()) {
              line = base + found.idx[j]!;
              apply(text);
            }
          }
          line = base + decoded.lineCount;
          const end = memberEndTime(seg);
          if (end !== null) timestamp = clock.time(end);
          continue;
        }
        // The stored hash was checked when the member was read: its lines past the time are not decoded.
        const more = await applyLines(decoded.lines(), false);
        if (!more) {
          stopped = true;
          break;
        }
      }
      if (!stopped && line === m.timeRange.walLines.end) [pointer, sealed] = [m.chain.lastPointer, m.timeRange.sealedAt.getTime()];
    }
  } catch (err) {
    // A missing identity is the caller's: any other failure names the archive.
    if (reading === null || isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING)) throw err;
    throw new UnreadableArchive(reading, err instanceof BadLine && member !== null ? archiveLineError(reading, member, err) : err);
  } finally {
    feed.close();
  }
  // After the archives: the shipped WAL, then the data directory's own WAL, where each continues the chain.
  const places: LineSource[] = (input.shipped?.sources ?? []).map((src) => ({ source: src.source, refs: src.refs, fetch: (r) => src.fetch(r as ShipmentRef), joins: false, bad: (r, b) => shippedLineError((r as ShipmentRef).key, b) }));
  // (Listed only here: a scan that stopped before reads nothing of it.)
  const tail = stopped ? null : (input.tail ?? null);
  if (tail) places.push({ source: tail.source, refs: await tail.segments(input.key), fetch: (r) => tail.fetch(r as TailSegment), joins: true, bad: (r, b) => walLineError(r as TailSegment, tail.startsAt, b) });
  if (!stopped && places.length > 0) {
    // Each next line from the first source whose shipment holding it can be fetched (as a restore takes them).
    const failed = new Set<LineRange>();
    next: for (;;) {
      const want = line + 1;
      for (const src of places) {
        const ref = src.refs.find((r) => r.firstLine <= want && want <= r.lastLine && !failed.has(r));
        if (!ref) continue;
        input.counter.requests++;
        input.counter.bytes += ref.size;
        let lines: readonly string[];
        try {
          lines = (await src.fetch(ref)).lines;
        } catch (err) {
          // No identity, or the wrong one, is not a damaged shipment: answering from less would hide it.
          if (isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING) || isBriError(err, ErrorCodes.DECRYPTION_FAILED)) throw err;
          failed.add(ref);
          problems.push({ source: src.source, reason: `${src.joins ? 'WAL' : 'shipped WAL'} lines ${ref.firstLine}..${ref.lastLine}: ${(err as Error).message}` });
          continue;
        }
        const at = want - ref.firstLine;
        // A line that is no WAL line is damage where it is, not another history.
        if (src.joins && at < lines.length && parseWalLine(lines[at]!) === null) throw src.bad(ref, new BadLine(want, 'line does not parse'));
        if (src.joins && at < lines.length && !joinsChain(lines[at]!, { prev: pointer, line: want, startsAt: tail!.startsAt, archivedTo: input.archives.at(-1)?.manifest.timeRange.walLines.end }, input.key)) {
          // Another history (a directory restored to an earlier moment, then written): none of it is this chain's.
          for (const r of src.refs) failed.add(r);
          const why = want === 1 ? 'does not start a chain: the lines before it are gone' : 'does not continue the chain of the archives and shipments before it (another history)';
          problems.push({ source: src.source, reason: `its WAL line ${want} ${why}: not read` });
          continue;
        }
        let applied: string | null = null;
        try {
          for (const [j, text] of lines.entries()) {
            if (ref.firstLine + j <= line) continue;
            if ((stopped = !apply(text))) break;
            applied = text;
          }
        } catch (err) {
          throw err instanceof BadLine ? src.bad(ref, err) : err;
        }
        if (stopped) break next;
        if (applied !== null) pointer = pointerOf(applied);
        // (A shipment that holds fewer lines than its name says is not asked again.)
        if (line < ref.lastLine) failed.add(ref);
        continue next;
      }
      // Later lines exist (where they failed too, or hold another history): what can be read ends here.
      const later = places.some((src) => src.refs.some((r) => r.lastLine > line));
      if (later || (input.shipped?.gapAt != null && line < input.shipped.gapAt)) {
        const last = problems.at(-1);
        broken = { source: last?.source ?? places[0]?.source ?? '', fromLine: want, reason: last?.reason ?? 'no source holds this shipped line, later ones exist' };
      }
      break;
    }
  }
  // A document renamed into a followed name brought the value of a name not followed: scan again with it.
  const more = names?.unfollowed() ?? [];
  if (more.length > 0) throw new NeedNames(more);
  passing(Number.POSITIVE_INFINITY);
  return { state, line, timestamp, problems, broken, holes, cut: stopped };
}

/** Lines after the archives, from one place: a remote's shipments, or the data directory's segments. */
interface LineRange {
  firstLine: number;
  lastLine: number;
  size: number;
}
interface LineSource {
  source: string;
  refs: readonly LineRange[];
  fetch(ref: LineRange): Promise<{ lines: readonly string[] }>;
  /** Its first line taken must continue the chain (the data directory: it may hold another history). */
  joins: boolean;
  /** The error for a bad line of `ref`, naming it as this source does. */
  bad(ref: LineRange, line: BadLine): BriError;
}
