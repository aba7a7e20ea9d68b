/**
 * Verifying an archive end to end, streamed: member checksums, the manifest
 * against the members (names, sizes, line ranges, counts), decompressed sizes
 * as declared, the WAL chain inside the archive and against its neighbours,
 * and the starting snapshot; then every byte against the PAR2 data
 * (integrity.ts), and the recovery data itself.
 *
 * The report keeps apart what a caller acts on differently: damaged data
 * (repair first), damaged recovery data alone (the data is restorable as it
 * is; repair writes the recovery data again), and a key that does not open
 * intact data (DECRYPTION_FAILED is thrown: nothing is damaged, nothing to
 * repair).
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { BriError, ErrorCodes, isBriError, isHostFault } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { MANIFEST_MEMBER, type Manifest, type ManifestSegment } from '../../format/manifest.js';
import { parseWalLine, type WalLine } from '../../format/wal-line.js';
import { decodeSnapshot, isEncryptedSnapshot } from '../../format/snapshot-file.js';
import { ChainVerifier } from '../../store/wal/chain.js';
import { describeBreak } from '../../store/verify-data-dir.js';
import { entryPlaintext, isEncryptedEntry } from '../../store/wal/wal-entry.js';
import { decompressChunks } from './compress.js';
import { checkArchiveBytes, checksumProblems, LayoutRecorder, type Par2Status } from './integrity.js';
import { readPackage } from './reader.js';
import { collectMember, passWalMember, type WalMemberResult } from './wal-member.js';
import { DecodedMember, startDecoders } from './decoder/member-decoder.js';
import { InOrder } from './decoder/in-order.js';
import { SharedPool } from './decoder/shared-pool.js';
import { SliceTap, storedTap } from './slice-tap.js';
import type { AgeIdentity } from '../crypto/age-keys.js';
import { decryptChunks } from '../crypto/age-stream.js';
import { identityMissing, wrongAgeIdentity } from '../crypto/errors.js';
import type { ProgressListener } from './progress.js';

export interface VerifyReport {
  ok: boolean;
  file: string;
  archiveId: string | null;
  /** The error that stopped the read of the data (damaged or hostile structure), if any. */
  error: { code: string; message: string } | null;
  problems: string[];
  checked: {
    members: number;
    walLines: number;
    /** 'encrypted-not-checked': an archive encrypted with age verified without an identity (its stored bytes only). */
    chain: 'verified' | 'format-only' | 'broken' | 'not-reached' | 'encrypted-not-checked';
    snapshot: 'verified' | 'encrypted-not-checked' | 'bad' | 'not-reached';
    neighbours: number;
  };
  /** What the archive's PAR2 data says of its bytes (null: no usable recovery data). */
  recovery: Par2Status | null;
  /** Every byte before recovery.par2 is the original one (by its PAR2 blocks, else its member checksums). */
  dataIntact: boolean;
  /** The recovery data (recovery.par2 and the end of the tar): 'none' for an archive made without it. */
  recoveryData: 'intact' | 'damaged' | 'none';
  /** Not ok, and `bri archive repair` gives back the original file. */
  repairable: boolean;
  /** The data can be restored from this file as it is: nothing is wrong but, perhaps, the recovery data. */
  restorable: boolean;
}

export interface VerifyOptions {
  key?: EncryptionKey;
  /**
   * Opens an archive encrypted with age: its contents are then checked too (the age authentication of
   * every chunk, the chain, the counts). Without it such an archive is verified as stored: checksums,
   * sizes, PAR2, its neighbours.
   */
  age?: AgeIdentity | null;
  /** The contents of an archive encrypted with age must be checked: without `age`, ENCRYPTION_KEY_MISSING. */
  deep?: boolean;
  /** Other archives of the catalog, to check the chain against the neighbours. */
  neighbours?: ReadonlyArray<{ manifest: Manifest }>;
  onProgress?: ProgressListener;
  /** What the archive is called in the report (default `file`): a caller reading it through a link or download of its own names the archive's place. */
  name?: string;
}

/** WAL members read and handed to the decoder threads ahead of the one whose answer is being taken. */
const READ_AHEAD = 3;

async function* hashing(data: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const c of data) {
    hash.update(c);
    onBytes?.(c.length);
    yield c;
  }
}

export async function verifyArchive(file: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const checked: VerifyReport['checked'] = { members: 0, walLines: 0, chain: 'not-reached', snapshot: 'not-reached', neighbours: 0 };
  const report: VerifyReport = { ok: false, file, archiveId: null, error: null, problems: [], checked, recovery: null, dataIntact: false, recoveryData: 'intact', repairable: false, restorable: false };
  const computed = new Map<string, string>();
  const layout = new LayoutRecorder();
  let manifest: Manifest | null = null;
  let verifier: ChainVerifier | null = null;
  let checksumsText: string | null = null;
  /** A member whose stored bytes do not hash to what the manifest says. */
  let hashMismatch = false;
  /** Whether the key opens the first encrypted thing in the archive (only asked with a key). */
  let keyWorks: boolean | null = null;
  /** Whether the age identity opens the archive's members (null: not encrypted with age, or no identity). */
  let ageWorks: boolean | null = null;
  let total = 0;
  let done = 0;
  const problem = (p: string) => report.problems.push(p);
  const ahead = new InOrder(READ_AHEAD);
  const pool = new SharedPool(READ_AHEAD + 2);
  let readError: unknown = null;
  // The PAR2 slices are hashed as the members are read (this thread mostly waits for the decoder threads).
  const size = await fsp.stat(file).then((s) => s.size, () => null);
  const slices = size === null ? null : new SliceTap(size);
  try {
    await readPackage(file, {
      manifest(m, rawSha, size) {
        if (m.encryption !== undefined && opts.deep && !opts.age) throw identityMissing(`archive ${m.archiveId}`);
        slices?.start(m);
        manifest = m;
        report.archiveId = m.archiveId;
        computed.set(MANIFEST_MEMBER, rawSha);
        layout.manifest(size);
        verifier = new ChainVerifier(restartsChain(m) ? null : m.chain.prevPointer, opts.key);
        // The decoder threads boot (tens of ms) while the snapshot is read.
        if (m.encryption === undefined && m.contents.segments.length > 0) startDecoders(2);
        total = m.compression.compressedSize;
      },
      async member(info, data) {
        const m = manifest!;
        layout.member(info);
        report.checked.members++;
        if (info.kind === 'recovery') return; // not in the checksums (written after them): checked with the bytes, below
        const onBytes = (n: number) => opts.onProgress?.({ operation: 'verify', phase: 'verify', doneBytes: (done += n), totalBytes: total, item: info.name });
        let digest: string;
        const sealed = m.encryption !== undefined && (info.kind === 'wal' || info.kind === 'snapshot');
        if (sealed) {
          // Stored bytes hashed here whatever happens inside; their contents are checked only with an identity.
          const tap = storedTap(data, onBytes);
          if (opts.age) {
            const decrypt = (stored: AsyncIterable<Buffer>) => decryptChunks(stored, opts.age!, info.name);
            try {
              if (info.kind === 'wal') checkWalMember(await passWalMember(tap.bytes, info.name, info.segment!, { chain: verifier!, untilTimestamp: null, decrypt }), info.name, info.segment!);
              else await checkSnapshotMember(decompressChunks(decrypt(tap.bytes), info.name, m.contents.snapshot.originalSize), info.name);
              ageWorks ??= true;
            } catch (err) {
              if (isBriError(err, ErrorCodes.DECRYPTION_FAILED)) ageWorks = false;
              else if (isBriError(err)) problem(err.message);
              else throw err;
            }
          } else {
            report.checked.chain = 'encrypted-not-checked';
            report.checked.snapshot = 'encrypted-not-checked';
          }
          digest = await tap.digest();
        } else if (info.kind === 'wal') {
          // The stored bytes hashed here; the member decompressed, hashed, and its lines parsed and chained on a
          // decoder thread (two members at once), which sends back only what a pass over them finds. A member it
          // cannot vouch for whole (encrypted entries, damage) is passed here, line by line, to say what is wrong.
          const seg = info.segment!;
          const hash = createHash('sha256');
          // In shared memory: the decoder thread reads the bytes where they are, and they stay here for a pass line by line.
          const stored = await collectMember(hashing(data, hash, onBytes), info.size, { shared: pool });
          digest = hash.digest('hex');
          const storedSha = digest;
          const decoded = new DecodedMember(stored, { member: info.name, limit: seg.originalSize, mode: { kind: 'check' }, summary: true });
          await ahead.add(async () => {
            const { summary: s, content } = await decoded.summary();
            const chain = verifier!;
            if (s.unvouched < 0) {
              if (s.first !== null) chain.pushParsed({ lineNo: seg.firstLine, segment: seg.segment, segmentLine: 1 }, parseWalLine(s.first));
              chain.vouched(Math.max(0, s.lines - 1), s.lastPointer, s.lastTimestamp);
              const r = { lines: s.lines, firstTimestamp: s.firstTimestamp, lastTimestamp: s.lastTimestamp, stopped: false, contentBytes: content.bytes, contentSha256: content.sha256, storedSha256: storedSha };
              pool.give(stored);
              return checkWalMember(r, info.name, seg);
            }
            const r = await passWalMember(
              (async function* () {
                yield stored;
              })(),
              info.name,
              seg,
              {
                chain,
                untilTimestamp: null,
                onLine(parsed) {
                  if (parsed && keyWorks === null && opts.key !== undefined && isEncryptedEntry(parsed.entry)) keyWorks = opensWith(parsed, opts.key);
                },
              },
            );
            checkWalMember(r, info.name, seg);
            // Read to its end by the thread and by this pass: its memory takes the next member (not after a cancel).
            pool.give(stored);
          }, () => decoded.cancel());
        } else {
        const hash = createHash('sha256');
        const stored = hashing(data, hash, info.kind === 'checksums' ? undefined : onBytes); // total: snapshot and WAL only
        if (info.kind === 'checksums') {
          const chunks: Buffer[] = [];
          for await (const c of stored) chunks.push(c);
          checksumsText = Buffer.concat(chunks).toString('utf8');
        } else if (info.kind === 'snapshot') {
          await checkSnapshotMember(decompressChunks(stored, info.name, m.contents.snapshot.originalSize), info.name);
        }
        digest = hash.digest('hex');
        }
        computed.set(info.name, digest);
        if (info.kind !== 'checksums' && m.integrity.members[info.name] !== digest) {
          hashMismatch = true;
          problem(`${info.name}: sha256 ${digest} differs from the manifest's ${m.integrity.members[info.name]}`);
        }
        layout.memberRead(info);
      },
    }, slices ? { tap: slices.tap } : {});
  } catch (err) {
    readError = err;
  }
  // The PAR2 check starts now, while the decoder threads finish the last members, as if the members match
  // their checksums; it is made again below when they do not (the set it may take depends on that).
  const m = manifest as Manifest | null;
  const known = slices?.known();
  const early = readError === null && m !== null ? checkArchiveBytes(file, { manifest: m, layout: layout.layout, membersMatch: true, known }) : null;
  early?.catch(() => undefined);
  // The members still being checked are checked to their end, whatever stopped the read after them.
  const memberError = await ahead.settle();
  const err = memberError ?? readError;
  if (err !== null) {
    // A file the host did not let us read (a permission, too many open files) says nothing of its bytes: no report of damage.
    if (!isBriError(err) || err.code === ErrorCodes.ENCRYPTION_KEY_MISSING || isHostFault(err)) {
      await early?.catch(() => undefined);
      throw opts.name !== undefined && isHostFault(err) ? errorShownAs(err as BriError, file, opts.name) : err;
    }
    // Past the data, a failed read is the recovery data's (reported with it below); before, it is the data's (a WAL member's always is).
    if (ahead.failed(err) || !layout.readFailed(err, manifest)) {
      report.error = { code: err.code, message: err.message };
      problem(err.message);
    }
  }
  /** The line counts, sizes, hashes and times of a WAL member read in one pass, against the manifest. */
  function checkWalMember(r: WalMemberResult, name: string, seg: ManifestSegment): void {
    report.checked.walLines += r.lines;
    if (r.lines !== seg.lastLine - seg.firstLine + 1) problem(`${name}: holds ${r.lines} lines, the manifest says ${seg.firstLine}..${seg.lastLine}`);
    if (r.contentBytes !== seg.originalSize) problem(`${name}: decompresses to ${r.contentBytes} bytes, the manifest says ${seg.originalSize}`);
    if (r.contentSha256 !== seg.contentSha256) problem(`${name}: content does not match its sha256`);
    if (r.firstTimestamp !== seg.firstTimestamp || r.lastTimestamp !== seg.lastTimestamp) problem(`${name}: timestamps differ from the manifest`);
  }
  /** The starting snapshot's size, sha256, walLine and counts against the manifest. */
  async function checkSnapshotMember(chunks: AsyncIterable<Buffer>, name: string): Promise<void> {
    const m = manifest!;
    const content = createHash('sha256');
    const parts: Buffer[] = [];
    let size = 0;
    for await (const c of chunks) {
      content.update(c);
      parts.push(c);
      size += c.length;
    }
    if (size !== m.contents.snapshot.originalSize) problem(`${name}: decompresses to ${size} bytes, the manifest says ${m.contents.snapshot.originalSize}`);
    if (content.digest('hex') !== m.contents.snapshot.contentSha256) problem(`${name}: content does not match its sha256`);
    const text = Buffer.concat(parts).toString('utf8');
    const encrypted = isEncryptedSnapshot(text);
    if (encrypted !== m.contents.snapshot.encrypted) problem(`${name}: ${encrypted ? 'encrypted' : 'plain'}, the manifest says ${encrypted ? 'plain' : 'encrypted'}`);
    if (encrypted && opts.key === undefined) {
      report.checked.snapshot = 'encrypted-not-checked';
      return;
    }
    try {
      const snap = decodeSnapshot(text, opts.key);
      if (encrypted) keyWorks = true;
      if (snap.walLine !== m.contents.snapshot.walLine) problem(`${name}: walLine ${snap.walLine}, the manifest says ${m.contents.snapshot.walLine}`);
      if (snap.version !== m.contents.snapshot.version) problem(`${name}: snapshot version ${snap.version}, the manifest says ${m.contents.snapshot.version}`);
      if (m.stats.documentsAtSnapshot !== null && snap.state.documents.size !== m.stats.documentsAtSnapshot) {
        problem(`${name}: ${snap.state.documents.size} documents, the manifest says ${m.stats.documentsAtSnapshot}`);
      }
      report.checked.snapshot = report.problems.length ? 'bad' : 'verified';
    } catch (err) {
      if (encrypted && isBriError(err, ErrorCodes.DECRYPTION_FAILED)) keyWorks ??= false;
      report.checked.snapshot = 'bad';
      problem(`${name}: does not load: ${(err as Error).message}`);
    }
  }
  const v = verifier as ChainVerifier | null;
  let listProblems: string[] = [];
  if (m && v) {
    if (report.error === null) {
      if (v.firstBreak) {
        report.checked.chain = 'broken';
        problem(`chain: ${describeBreak(v.firstBreak)}`);
      } else if (m.encryption !== undefined && !opts.age) {
        // Sealed lines: the chain is the identity holder's to check (the stored bytes were, above).
      } else {
        report.checked.chain = v.state.pointersChecked ? 'verified' : 'format-only';
        if (v.state.pointersChecked && v.state.lastPointer !== m.chain.lastPointer) problem(`chain: ends at ${v.state.lastPointer}, the manifest says ${m.chain.lastPointer}`);
      }
      listProblems = checksumProblems(m, computed, checksumsText);
      listProblems.forEach(problem);
    }
    report.checked.neighbours = checkNeighbours(m, opts.neighbours ?? [], problem);
  }
  const membersMatch = m !== null && report.error === null && !hashMismatch && listProblems.length === 0;
  // The PAR2 check (the slices hashed during the read compared, the rest and the recovery data read): said by name, so that the bar does not sit at 100%.
  opts.onProgress?.({ operation: 'verify', phase: 'recovery', doneBytes: 0, totalBytes: 0, item: 'every PAR2 block' });
  if (!membersMatch) await early?.catch(() => undefined);
  const bytes = early !== null && membersMatch ? await early : await checkArchiveBytes(file, { manifest: m, layout: layout.layout, membersMatch, known });
  report.recovery = bytes.par2;
  report.dataIntact = bytes.dataIntact;
  report.recoveryData = m && !m.errorCorrection.enabled ? 'none' : bytes.recoveryProblem ? 'damaged' : 'intact';
  bytes.dataProblems.forEach(problem);
  if (bytes.recoveryProblem) problem(bytes.recoveryProblem);
  report.ok = report.problems.length === 0;
  if (keyWorks === false && report.dataIntact) throw wrongKey(opts.name ?? file, m!);
  if (ageWorks === false && report.dataIntact) throw wrongAgeIdentity(m!.archiveId, opts.name ?? file, m!.encryption, opts.age!);
  report.restorable = report.ok || (report.dataIntact && report.problems.length === 1 && bytes.recoveryProblem !== null);
  report.repairable = !report.ok && bytes.repairable && (report.dataIntact ? report.restorable : true);
  if (!report.ok) problem(summary(report, bytes.recoveryProblem !== null));
  return opts.name === undefined ? report : shownAs(report, file, opts.name);
}

/** The report with the file read named as `name` wherever it says it (the read's errors name the path they read). */
function shownAs(r: VerifyReport, read: string, name: string): VerifyReport {
  const rename = (s: string) => s.split(read).join(name);
  return { ...r, file: name, error: r.error && { ...r.error, message: rename(r.error.message) }, problems: r.problems.map(rename) };
}

/** A host fault met reading `read` (a link of the caller's own), said of the file it stands for. */
function errorShownAs(err: BriError, read: string, name: string): BriError {
  const rename = (s: string) => s.split(read).join(name);
  return new BriError(err.code, rename(err.message), { ...(err.hint ? { hint: rename(err.hint) } : {}), details: { ...err.details, ...(err.details.path === read ? { path: name } : {}) }, cause: err });
}

/** The last line of a report that is not ok: what can be done. */
function summary(r: VerifyReport, recoveryHurt: boolean): string {
  const counts = r.recovery ? `${r.recovery.damagedBlocks} damaged blocks, ${r.recovery.recoveryBlocksAvailable} recovery blocks available` : null;
  if (r.restorable && recoveryHurt) return 'repairable: the data is intact (restorable as it is), only the recovery data is damaged; `bri archive repair` writes it again';
  if (r.repairable) return `repairable: ${counts ?? 'every member matches its checksum'} (bri archive repair)`;
  if (r.dataIntact) return 'not a matter of damage: the bytes are the ones the archive was written with';
  return `beyond repair: ${counts ?? 'no usable recovery data'}`;
}

function opensWith(line: WalLine, key: EncryptionKey): boolean {
  try {
    entryPlaintext(line, key);
    return true;
  } catch {
    return false;
  }
}

function wrongKey(file: string, m: Manifest): BriError {
  return new BriError(ErrorCodes.DECRYPTION_FAILED, `archive ${m.archiveId} cannot be decrypted with the key given: its bytes are intact, so the key is not the one it was written with`, {
    hint: 'Set BRI_ENCRYPTION_KEY (64 hex chars) to the key of the database the archive was made from.',
    details: { archiveId: m.archiveId, file },
  });
}

/** Whether its first line was chained from '' past line 0: wal/ was left empty by a restore of no WAL line, the chain starts again (as create records it, a restore reads it). */
const restartsChain = (m: Manifest): boolean => m.chain.prevPointer === '' && m.timeRange.walLines.start > 0;
/** Whether `m` goes on from `prev`, the archive ending on its first line: from the pointer `prev` ends at, or its chain starts again. */
export const continuesArchive = (prev: Manifest, m: Manifest): boolean => !m.chain.verified || restartsChain(m) || prev.chain.lastPointer === m.chain.prevPointer;

/** The previous archive must end where this one starts, with the pointer it continues (or a chain started again); likewise the next. */
function checkNeighbours(m: Manifest, others: ReadonlyArray<{ manifest: Manifest }>, problem: (p: string) => void): number {
  let n = 0;
  for (const o of others) {
    const x = o.manifest;
    if (x.instanceId !== m.instanceId || x.archiveId === m.archiveId) continue;
    if (x.timeRange.walLines.end === m.timeRange.walLines.start) {
      n++;
      if (!continuesArchive(x, m)) problem(`chain: previous archive ${x.archiveId} ends at pointer ${x.chain.lastPointer}, this one continues ${m.chain.prevPointer}`);
    } else if (x.timeRange.walLines.start === m.timeRange.walLines.end) {
      n++;
      if (!continuesArchive(m, x)) problem(`chain: next archive ${x.archiveId} continues pointer ${x.chain.prevPointer}, this one ends at ${m.chain.lastPointer}`);
    } else if (x.timeRange.walLines.start < m.timeRange.walLines.end && m.timeRange.walLines.start < x.timeRange.walLines.end) {
      problem(`archive ${x.archiveId} overlaps lines ${Math.max(x.timeRange.walLines.start, m.timeRange.walLines.start) + 1}..${Math.min(x.timeRange.walLines.end, m.timeRange.walLines.end)}`);
    }
  }
  return n;
}
