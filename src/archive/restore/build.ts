/**
 * Building a restored data directory beside the target in one pass over the
 * archive: each member's stored bytes hashed against the manifest, each WAL
 * member decompressed once, each line parsed once, chained from the
 * archive's prevPointer and replayed into the state, and its bytes written as
 * they came (cut at the plan's time); then the shipped WAL that continues it;
 * then a snapshot at the last line, so that the first open replays nothing.
 * What was computed while writing (hashes, counts, the chain's end) proves
 * the directory against the manifest: it is not read again.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import { isMissingObject } from '../../remote/index.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { MANIFEST_MEMBER, type ManifestSegment } from '../../format/manifest.js';
import { decodeSnapshot, isEncryptedSnapshot } from '../../format/snapshot-file.js';
import type { DbState } from '../../format/state.js';
import { applyLiteralEntry, emptyLiteralState, literalCopyOf, literalDocumentPiece, type LiteralState } from '../../format/literal-state.js';
import { makeDataDirLayout, segmentIndex, SNAPSHOT_FILE } from '../../store/layout.js';
import { writeSnapshot } from '../../store/snapshot-store.js';
import { ChainVerifier } from '../../store/wal/chain.js';
import { rotateWal, SegmentFile } from '../../store/wal/segment-file.js';
import { entryPlaintext, isEncryptedEntry } from '../../store/wal/wal-entry.js';
import { decompressChunks } from '../package/compress.js';
import { checksumProblems } from '../package/integrity.js';
import { readPackage } from '../package/reader.js';
import type { ProgressListener } from '../package/progress.js';
import { collectMember, passDecodedMember, passWalMember, type DecodedWalMemberResult, type WalMemberOptions } from '../package/wal-member.js';
import { DecodedMember, releaseDecoders, startDecoders } from '../package/decoder/member-decoder.js';
import { InOrder } from '../package/decoder/in-order.js';
import type { RestorePlan } from './plan.js';
import type { AgeIdentity } from '../crypto/age-keys.js';
import { decryptChunks } from '../crypto/age-stream.js';
import { LineClock } from '../../format/line-time.js';
import { appendShipped, type ChainPosition, type ShippedInput, type ShippedOutcome } from '../shipping/restore-shipped.js';
import type { ShipmentRef } from '../shipping/shipment.js';

/** WAL members read and handed to the decoder threads ahead of the one being applied. */
const READ_AHEAD = 2;

export function restoreError(message: string, hint: string, cause?: unknown): BriError {
  return new BriError(ErrorCodes.RESTORE_ERROR, message, { hint, cause });
}

/** The hooks a build calls (a subset of RestoreHooks). */
export interface BuildHooks {
  afterSnapshotRestore?(info: { path: string; walLine: number; documents: number | null }): void | Promise<void>;
  afterWalSegmentRestore?(info: { segment: string; lines: number; segmentsDone: number; segmentsTotal: number; linesDone: number }, progress: { current: number; total: number }): void | Promise<void>;
}

export interface BuildOptions {
  key?: EncryptionKey;
  /** Opens the data members of an archive encrypted with age (and encrypted shipments). */
  age?: AgeIdentity | null;
  /** Check every member against the manifest (hashes, sizes, line counts, the chain) while building (default true). */
  verify?: boolean;
  hooks?: BuildHooks;
  onProgress?: ProgressListener;
  /** Shipped WAL that continues the archive (or, without an archive, the empty state at line 0). */
  shipped?: ShippedInput;
  /** Fail (before anything is swapped in) when a shipment in the middle is damaged or missing. */
  shippedMustBeWhole?: boolean;
}

export interface Built {
  linesRestored: number;
  lastLine: number;
  lastTimestamp: number | null;
  lastPointer: string;
  /** The state the directory must open to, documents as their JSON literals (null: it cannot be replayed, e.g. encrypted without the key). */
  expected: LiteralState | null;
  shipped: ShippedOutcome | null;
  /**
   * The archive's starting snapshot member as stored (zstd of the snapshot text at the plan's start
   * line): a new instance's first archive starts from it (a seed), so nothing is decoded again.
   */
  startSnapshot: Buffer[] | null;
  /** Where recovery.par2 lies in the archive (to audit it after the build), null when it was not reached or there is none. */
  recovery: { offset: number; size: number } | null;
  /** Some of what was restored is encrypted at rest (BRI's key): without the key, its chain and state were not checked. */
  encrypted: boolean;
}

/** An archive that does not match its manifest: the restore goes back to verifying (and repairing) a copy first. */
function damaged(message: string): BriError {
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, message, { hint: 'Repair the archive (`bri archive repair`) or use another copy.', details: { duringRestore: true } });
}

/** Writes the data directory for the plan into `dir` (which exists and is empty); `file` is the archive (null: none, shipped WAL only). */
export async function buildDataDir(file: string | null, plan: RestorePlan, dir: string, opts: BuildOptions): Promise<Built> {
  const m = plan.archive?.manifest ?? null;
  const verify = opts.verify !== false;
  await makeDataDirLayout(dir);
  // Documents are kept as their JSON literals: the snapshot at the end is written from them as they are (format/literal-state.ts).
  let expected: LiteralState | null = m === null ? emptyLiteralState() : null;
  /** The snapshot's own state as it was decoded (written as it is when the WAL cannot be replayed). */
  let snapAtStart = null as { state: DbState; timestamp: number } | null;
  let decodable = true;
  let encrypted = m?.contents.snapshot.encrypted ?? false;
  let stopped = false;
  let linesRestored = 0;
  let lastLine = m?.timeRange.walLines.start ?? 0;
  let lastTimestamp: number | null = null;
  // Lines are restored up to the first one stamped after the plan's time: the lines whose effective time is at or
  // before it (format/line-time.ts), and the last one's time is its effective one.
  const clock = new LineClock(m !== null && m.timeRange.walLines.start > 0 ? m.timeRange.start.getTime() : null);
  let lastPointer = m?.chain.prevPointer ?? '';
  let segmentsDone = 0;
  let done = 0;
  let startSnapshot: Buffer[] | null = null;
  let recovery: Built['recovery'] = null;
  const computed = new Map<string, string>();
  let checksumsText: string | null = null;
  const segmentsTotal = m?.contents.segments.length ?? 0;
  // An archive encrypted with age: each data member is decrypted after its stored bytes are hashed, before zstd.
  const decrypt = m?.encryption !== undefined ? (name: string) => (stored: AsyncIterable<Buffer>) => decryptChunks(stored, opts.age ?? null, name) : null;
  const chain = m !== null && verify ? new ChainVerifier(m.chain.prevPointer === '' && m.timeRange.walLines.start > 0 ? null : m.chain.prevPointer, opts.key) : null;
  const checkStored = (name: string, sha: string) => {
    computed.set(name, sha);
    if (verify && m!.integrity.members[name] !== sha) throw damaged(`${name}: sha256 ${sha} differs from the manifest's`);
  };
  const ahead = new InOrder(READ_AHEAD);
  /** Writes one WAL member's lines into its segment as `pass` hands them on, replaying them, then checks what it computed against the manifest. */
  const restoreWalMember = async (name: string, seg: ManifestSegment, pass: (o: Omit<WalMemberOptions, 'decrypt'>) => Promise<DecodedWalMemberResult>) => {
    const out = await SegmentFile.create(dir, seg.segment);
    let r: DecodedWalMemberResult | undefined;
    let pendingLines = 0;
    try {
      r = await pass({
        chain,
        untilTimestamp: plan.untilTimestamp,
        onLine(parsed, lineNo) {
          if (!parsed) throw damaged(`${name}: line ${lineNo} does not parse`);
          if (expected && decodable && !(isEncryptedEntry(parsed.entry) && !opts.key)) applyLiteralEntry(expected, entryPlaintext(parsed, opts.key));
          else decodable = false;
          if (isEncryptedEntry(parsed.entry)) encrypted = true;
          lastLine = lineNo;
          lastTimestamp = clock.time(parsed.timestamp, lineNo);
          lastPointer = parsed.pointer;
          pendingLines++;
        },
        async sink(bytes) {
          await out.append(bytes, pendingLines);
          pendingLines = 0;
          done += bytes.length;
          // The bar moves with the bytes written, within a segment too.
          opts.onProgress?.({ operation: 'restore', phase: 'write', doneBytes: done, totalBytes: plan.bytesToWrite, item: `wal/${seg.segment}` });
        },
      });
      await out.finish();
    } catch (err) {
      await out.discard();
      throw err;
    } finally {
      // The bytes handed to the sink were written (or dropped): their memory goes back to the decoder thread.
      r?.release();
    }
    checkStored(name, r.storedSha256);
    if (chain?.firstBreak) throw damaged(`${name}: the chain breaks at line ${chain.firstBreak.lineNo} (${chain.firstBreak.reason})`);
    if (verify && !r.stopped) {
      if (r.lines !== seg.lastLine - seg.firstLine + 1) throw damaged(`${name}: holds ${r.lines} lines, the manifest says ${seg.firstLine}..${seg.lastLine}`);
      if (r.contentBytes !== seg.originalSize || r.contentSha256 !== seg.contentSha256) throw damaged(`${name}: content does not match its size and sha256`);
      if (r.firstTimestamp !== seg.firstTimestamp || r.lastTimestamp !== seg.lastTimestamp) throw damaged(`${name}: timestamps differ from the manifest`);
    }
    linesRestored += r.lines;
    segmentsDone++;
    await opts.hooks?.afterWalSegmentRestore?.({ segment: seg.segment, lines: r.lines, segmentsDone, segmentsTotal, linesDone: linesRestored }, { current: segmentsDone, total: segmentsTotal });
    if (r.stopped) stopped = true;
  };
  if (file !== null && m !== null) {
    // The decoder threads boot (tens of ms) while the manifest and the snapshot are read.
    if (m.encryption === undefined && m.contents.segments.length > 0) startDecoders(1);
    await readPackage(file, {
      manifest(_m, rawSha) {
        computed.set(MANIFEST_MEMBER, rawSha);
      },
      async member(info, data) {
        if (info.kind === 'recovery') {
          recovery = { offset: info.offset, size: info.size };
          return;
        }
        if (info.kind === 'checksums') {
          if (!verify) return;
          const parts: Buffer[] = [];
          for await (const c of data) parts.push(c);
          checksumsText = Buffer.concat(parts).toString('utf8');
          return;
        }
        if (info.kind === 'snapshot') {
          const stored: Buffer[] = [];
          const storedHash = createHash('sha256');
          const content = createHash('sha256');
          const kept = (async function* () {
            for await (const c of data) {
              stored.push(c);
              storedHash.update(c);
              yield c;
            }
          })();
          const parts: Buffer[] = [];
          opts.onProgress?.({ operation: 'restore', phase: 'write', doneBytes: 0, totalBytes: plan.bytesToWrite, item: 'snapshot.jss' });
          for await (const c of decompressChunks(decrypt ? decrypt(info.name)(kept) : kept, info.name, m.contents.snapshot.originalSize)) {
            content.update(c);
            parts.push(c);
          }
          checkStored(info.name, storedHash.digest('hex'));
          if (verify && content.digest('hex') !== m.contents.snapshot.contentSha256) throw damaged(`${info.name}: content does not match its sha256`);
          if (m.timeRange.walLines.start > 0) startSnapshot = stored;
          const text = Buffer.concat(parts).toString('utf8');
          if (isEncryptedSnapshot(text) && !opts.key) {
            if (m.timeRange.walLines.start !== 0) {
              throw new BriError(ErrorCodes.ENCRYPTION_KEY_MISSING, 'the archive is encrypted: restoring it needs the key', { hint: 'Set BRI_ENCRYPTION_KEY to the key of the archived database.' });
            }
            decodable = false;
            return; // the empty state at line 0: no snapshot.jss, BRI starts empty and replays the WAL
          }
          const snap = decodeSnapshot(text, opts.key);
          if (verify && snap.walLine !== m.contents.snapshot.walLine) throw damaged(`${info.name}: walLine ${snap.walLine}, the manifest says ${m.contents.snapshot.walLine}`);
          // The snapshot's own state stays as decoded (written as it is when the WAL cannot be replayed); the replay goes on in a copy of literals.
          snapAtStart = { state: snap.state, timestamp: snap.timestamp };
          expected = literalCopyOf(snap.state);
          await opts.hooks?.afterSnapshotRestore?.({ path: path.join(dir, SNAPSHOT_FILE), walLine: m.timeRange.walLines.start, documents: snap.state.documents.size });
          return;
        }
        if (info.kind !== 'wal') return;
        const seg = info.segment!;
        if (decrypt) {
          // Age: the stored bytes are hashed and decrypted here, then decompressed as they come.
          if (stopped) return checkStored(info.name, await sha256Of(data));
          await restoreWalMember(info.name, seg, async (passOpts) => {
            const r = await passWalMember(data, info.name, seg, { ...passOpts, decrypt: decrypt(info.name) });
            return { ...r, release: () => undefined };
          });
          return;
        }
        // Read ahead: the member's stored bytes go to a decoder thread now (checked against the manifest's
        // sha256, decompressed, hashed, its chain links checked there), and its lines are applied here once
        // the members before it are. A member the manifest places wholly past the point in time is kept
        // here, hashed for its checksum, and decoded only if the data says otherwise.
        const stored = await collectMember(data, info.size);
        const storedSha = m.integrity.members[info.name] ?? '';
        const job = () => new DecodedMember(stored, { member: info.name, limit: seg.originalSize, mode: { kind: 'check' }, threads: 1, ...(verify ? { stored: { sha256: storedSha, size: info.size } } : {}) });
        const pastT = plan.untilTimestamp !== null && seg.firstTimestamp !== null && seg.firstTimestamp > plan.untilTimestamp;
        let decoded = pastT ? null : job();
        await ahead.add(
          async () => {
            if (stopped) {
              // Past the point in time: only its checksum is checked (by the decoder thread when one has it), and only when verifying.
              if (!verify) return decoded?.cancel();
              if (decoded === null) return checkStored(info.name, createHash('sha256').update(stored).digest('hex'));
              for await (const piece of decoded.checked()) piece.release();
              return checkStored(info.name, storedSha);
            }
            const d = (decoded ??= job());
            await restoreWalMember(info.name, seg, (passOpts) => passDecodedMember(d, storedSha, seg, passOpts));
          },
          () => decoded?.cancel(),
        );
      },
    }).catch(async (err: unknown) => {
      await ahead.abandon(err);
      throw err;
    });
    await ahead.drain();
    // The decoder thread's heap and its spare buffers go back before the snapshot is written (the peak of a restore's memory).
    releaseDecoders();
    if (verify) {
      const problems = checksumProblems(m, computed, checksumsText);
      if (problems.length > 0) throw damaged(problems[0]!);
      if (!stopped && chain && chain.state.pointersChecked && chain.state.lastPointer !== m.chain.lastPointer) throw damaged(`the chain ends at ${chain.state.lastPointer}, the manifest says ${m.chain.lastPointer}`);
    }
  }
  let shipped: ShippedOutcome | null = null;
  if (opts.shipped && !stopped) {
    // The shipped WAL goes on in one more segment after the archive's last (segment 0 when there is no archive).
    const lastSeg = m?.contents.segments[m.contents.segments.length - 1];
    const index = lastSeg ? (segmentIndex(lastSeg.segment) ?? 0) + 1 : 0;
    const pos: ChainPosition = { lastLine, lastPointer, lastTimestamp, expected: decodable ? expected : null };
    const unfetched: Unfetched[] = [];
    shipped = await appendShipped(dir, index, pos, noticingUnfetched(opts.shipped, unfetched), plan.untilTimestamp, opts.key);
    // A shipment listed when the restore was planned and gone when it was read: the remote changed under the restore (an
    // archive confirmed there absorbs the shipments it holds). Stopping at the line before it would be an answer from
    // fewer lines than the remote holds; a new plan reads the archive that holds them.
    if (shipped.broken?.vanished) {
      throw new BriError(ErrorCodes.RESTORE_ERROR, `shipped WAL lines ${shipped.broken.fromLine}..${shipped.broken.toLine} vanished while this restore read them (${shipped.broken.reason}): the remote changed under the restore`, {
        hint: 'Nothing was swapped in. Run the restore again: a new archive there most likely holds those lines now.',
        details: { retry: 'shipment-vanished', fromLine: shipped.broken.fromLine, toLine: shipped.broken.toLine },
      });
    }
    if (shipped.broken) throwIfUnfetched(unfetched, shipped.throughLine + 1);
    if (shipped.broken && opts.shippedMustBeWhole) {
      throw restoreError(`shipped WAL lines ${shipped.broken.fromLine}..${shipped.broken.toLine} are unusable: ${shipped.broken.reason}`, 'Nothing was swapped in; restore without --on-broken-shipment fail to stop at the last good line, or from another source.');
    }
    linesRestored += shipped.lines;
    ({ lastLine, lastPointer } = pos);
    // (The shipped lines' own time of the last one: a line before it stamped later is not seen here.)
    if (pos.lastTimestamp !== null) lastTimestamp = clock.time(pos.lastTimestamp, lastLine);
    if (pos.expected === null) decodable = false;
    if (shipped.encrypted) encrypted = true;
  }
  // The snapshot at the last line: the first open replays nothing. Without the replayed state (an encrypted WAL and
  // no key), the archive's own snapshot at line 0, as BRI would have it before replaying the WAL.
  const key = encrypted ? opts.key : undefined;
  const snapAtEnd = decodable && expected !== null;
  if (snapAtEnd) {
    // Version 1 (documents as their stored strings, as the WAL wrote them), which BRI reads as it
    // reads version 2: written without decoding a document and loaded without building one, where
    // version 2 costs a JSON decode and re-encode of every document on each side (measured: the
    // first open of a 200 MiB restore took longer than replaying the whole WAL).
    // The documents' literals are their pieces as they stand: no document is escaped again.
    await writeSnapshot(dir, { version: 1, walLine: linesRestored, timestamp: lastTimestamp ?? snapAtStart?.timestamp ?? Date.now(), state: expected! }, key, literalDocumentPiece);
    // As BRI leaves a clean shutdown: the snapshot at the last line, the WAL rotated.
    await rotateWal(dir);
  }
  else if (snapAtStart !== null && (m!.timeRange.walLines.start > 0 || snapAtStart.state.documents.size > 0 || snapAtStart.state.collections.size > 0)) {
    await writeSnapshot(dir, { version: 2, walLine: 0, timestamp: snapAtStart.timestamp, state: snapAtStart.state }, key);
  }
  return { linesRestored, lastLine, lastTimestamp, lastPointer, expected: snapAtEnd ? expected : null, shipped, startSnapshot, recovery, encrypted };
}

/** A shipment a source did not give at all: nothing is known about the shipment itself. */
interface Unfetched {
  source: string;
  ref: ShipmentRef;
  error: BriError;
}

/** Failures to get a shipment (the source down or busy, the network, the disk, a cancel), as fetch.ts tells them from damage; a missing object is not one. */
const NOT_FETCHED: ReadonlySet<string> = new Set([ErrorCodes.REMOTE_ERROR, ErrorCodes.REMOTE_NOT_FOUND, ErrorCodes.IO_ERROR, ErrorCodes.CANCELLED]);

/** The same sources, each fetch that fails without a shipment noted in `into` (appendShipped only says why it stopped). */
function noticingUnfetched(input: ShippedInput, into: Unfetched[]): ShippedInput {
  const noticed = (src: ShippedInput['sources'][number]) => async (ref: ShipmentRef) => {
    try {
      return await src.fetch(ref);
    } catch (err) {
      if (isBriError(err) && NOT_FETCHED.has(err.code) && !isMissingObject(err)) into.push({ source: src.source, ref, error: err });
      throw err;
    }
  };
  return { ...input, sources: input.sources.map((src) => ({ ...src, fetch: noticed(src) })) };
}

/**
 * The shipped WAL stopped at `line` because a source did not give the shipment holding it: that is no damaged
 * or missing shipment (--on-broken-shipment), and restoring less would end the database early while the lines
 * are there. The failure's own error (REMOTE_ERROR: try again), nothing swapped in, as for an archive copy not fetched.
 */
function throwIfUnfetched(unfetched: readonly Unfetched[], line: number): void {
  const f = unfetched.find((u) => u.ref.firstLine <= line && line <= u.ref.lastLine);
  if (!f) return;
  throw new BriError(f.error.code, `shipped WAL lines ${f.ref.firstLine}..${f.ref.lastLine} could not be fetched from ${f.source}: ${f.error.message}; nothing was swapped in`, {
    hint: `${f.error.hint ? `${f.error.hint}. ` : ''}No shipment was found damaged: the source did not give it. Try again once the network or the source is back, or restore from another source (--source).`,
    details: { ...f.error.details, source: f.source, fromLine: f.ref.firstLine, toLine: f.ref.lastLine },
    cause: f.error,
  });
}

/** What the build proved: the counts of the state it replayed (the directory is not read again). */
export function builtCounts(built: Built): { documents: number | null; collections: number | null } {
  return built.expected === null ? { documents: null, collections: null } : { documents: built.expected.documents.size, collections: built.expected.collections.size };
}

async function sha256Of(data: AsyncIterable<Buffer>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of data) h.update(c);
  return h.digest('hex');
}
