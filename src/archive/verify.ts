/**
 * Verifying an archive end to end, streamed: member checksums, the manifest
 * against the members (names, sizes, line ranges, counts), decompressed sizes
 * as declared, the WAL chain inside the archive and against its neighbours,
 * and the starting snapshot.
 */
import { createHash } from 'node:crypto';
import { BriError, isBriError } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { contentDigestInput, parseChecksums } from '../format/checksums.js';
import { CHECKSUMS_MEMBER, MANIFEST_MEMBER, type Manifest } from '../format/manifest.js';
import { decodeSnapshot, isEncryptedSnapshot } from '../format/snapshot-file.js';
import { parseWalLine } from '../format/wal-line.js';
import { ChainVerifier } from '../store/chain.js';
import { describeBreak } from '../store/verify-data-dir.js';
import { decompressChunks } from './compress.js';
import { readPackage } from './package-reader.js';
import type { ProgressListener } from './progress.js';
import { splitLineBatches } from './replay-archive.js';
import { par2Status, recoveryMemberDamage, type Par2Status } from './recovery.js';

export interface VerifyReport {
  ok: boolean;
  file: string;
  archiveId: string | null;
  /** The error that stopped the read (damaged or hostile structure), if any. */
  error: { code: string; message: string } | null;
  problems: string[];
  checked: {
    members: number;
    walLines: number;
    chain: 'verified' | 'format-only' | 'broken' | 'not-reached';
    snapshot: 'verified' | 'encrypted-not-checked' | 'bad' | 'not-reached';
    neighbours: number;
  };
  /** When damage was found: what the archive's PAR2 data says (null without recovery data). */
  recovery: Par2Status | null;
}

export interface VerifyOptions {
  key?: EncryptionKey;
  /** Other archives of the catalog, to check the chain against the neighbours. */
  neighbours?: ReadonlyArray<{ manifest: Manifest }>;
  onProgress?: ProgressListener;
}

async function* hashing(data: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>, count: { bytes: number }, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const c of data) {
    hash.update(c);
    count.bytes += c.length;
    onBytes?.(c.length);
    yield c;
  }
}

export async function verifyArchive(file: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = {
    ok: false,
    file,
    archiveId: null,
    error: null,
    problems: [],
    checked: { members: 0, walLines: 0, chain: 'not-reached', snapshot: 'not-reached', neighbours: 0 },
    recovery: null,
  };
  const computed = new Map<string, string>();
  let manifest: Manifest | null = null;
  let verifier: ChainVerifier | null = null;
  let checksumsText: string | null = null;
  let total = 0;
  let done = 0;
  const problem = (p: string) => report.problems.push(p);
  try {
    await readPackage(file, {
      manifest(m, rawSha) {
        manifest = m;
        report.archiveId = m.archiveId;
        computed.set(MANIFEST_MEMBER, rawSha);
        verifier = new ChainVerifier(m.chain.prevPointer === '' && m.timeRange.walLines.start > 0 ? null : m.chain.prevPointer, opts.key);
        total = m.compression.compressedSize;
      },
      async member(info, data) {
        const m = manifest!;
        report.checked.members++;
        const hash = createHash('sha256');
        const count = { bytes: 0 };
        const onBytes = (n: number) => opts.onProgress?.({ operation: 'verify', phase: 'verify', doneBytes: (done += n), totalBytes: total, item: info.name });
        const stored = hashing(data, hash, count, onBytes);
        if (info.kind === 'checksums') {
          const chunks: Buffer[] = [];
          for await (const c of stored) chunks.push(c);
          checksumsText = Buffer.concat(chunks).toString('utf8');
        } else if (info.kind === 'snapshot') {
          const content = createHash('sha256');
          const parts: Buffer[] = [];
          let size = 0;
          for await (const c of decompressChunks(stored, info.name, m.contents.snapshot.originalSize)) {
            content.update(c);
            parts.push(c);
            size += c.length;
          }
          if (size !== m.contents.snapshot.originalSize) problem(`${info.name}: decompresses to ${size} bytes, the manifest says ${m.contents.snapshot.originalSize}`);
          if (content.digest('hex') !== m.contents.snapshot.contentSha256) problem(`${info.name}: content does not match its sha256`);
          const text = Buffer.concat(parts).toString('utf8');
          if (isEncryptedSnapshot(text) && opts.key === undefined) report.checked.snapshot = 'encrypted-not-checked';
          else {
            try {
              const snap = decodeSnapshot(text, opts.key);
              if (snap.walLine !== m.contents.snapshot.walLine) problem(`${info.name}: walLine ${snap.walLine}, the manifest says ${m.contents.snapshot.walLine}`);
              if (m.stats.documentsAtSnapshot !== null && snap.state.documents.size !== m.stats.documentsAtSnapshot) {
                problem(`${info.name}: ${snap.state.documents.size} documents, the manifest says ${m.stats.documentsAtSnapshot}`);
              }
              report.checked.snapshot = report.problems.length ? 'bad' : 'verified';
            } catch (err) {
              report.checked.snapshot = 'bad';
              problem(`${info.name}: does not load: ${(err as Error).message}`);
            }
          }
        } else if (info.kind === 'wal') {
          const seg = info.segment!;
          const content = createHash('sha256');
          let size = 0;
          let lineNo = seg.firstLine;
          let firstTs: number | null = null;
          let lastTs: number | null = null;
          async function* counted(): AsyncGenerator<Buffer> {
            for await (const c of decompressChunks(stored, info.name, seg.originalSize)) {
              content.update(c);
              size += c.length;
              yield c;
            }
          }
          for await (const batch of splitLineBatches(counted())) for (const text of batch) {
            const v = verifier!;
            v.push({ lineNo, segment: seg.segment, segmentLine: lineNo - seg.firstLine + 1, text });
            const parsed = parseWalLine(text);
            if (parsed) {
              firstTs ??= parsed.timestamp;
              lastTs = parsed.timestamp;
            }
            lineNo++;
          }
          const lines = lineNo - seg.firstLine;
          report.checked.walLines += lines;
          if (lines !== seg.lastLine - seg.firstLine + 1) problem(`${info.name}: holds ${lines} lines, the manifest says ${seg.firstLine}..${seg.lastLine}`);
          if (size !== seg.originalSize) problem(`${info.name}: decompresses to ${size} bytes, the manifest says ${seg.originalSize}`);
          if (content.digest('hex') !== seg.contentSha256) problem(`${info.name}: content does not match its sha256`);
          if (firstTs !== seg.firstTimestamp || lastTs !== seg.lastTimestamp) problem(`${info.name}: timestamps differ from the manifest`);
        } else {
          for await (const _ of stored) void _;
          // The recovery data is not in the checksums (it is written after them): check its packets.
          const damage = await recoveryMemberDamage(file, info.offset, info.size, m.errorCorrection.recoveryBlockCount);
          if (damage) problem(damage);
        }
        const digest = hash.digest('hex');
        computed.set(info.name, digest);
        if (info.kind !== 'recovery' && info.kind !== 'checksums' && m.integrity.members[info.name] !== digest) {
          problem(`${info.name}: sha256 ${digest} differs from the manifest's ${m.integrity.members[info.name]}`);
        }
      },
    });
  } catch (err) {
    if (!isBriError(err)) throw err;
    report.error = { code: err.code, message: err.message };
    problem(err.message);
  }
  const m = manifest as Manifest | null;
  const v = verifier as ChainVerifier | null;
  if (m && v) {
    if (report.error === null) {
      if (v.firstBreak) {
        report.checked.chain = 'broken';
        problem(`chain: ${describeBreak(v.firstBreak)}`);
      } else {
        report.checked.chain = v.state.pointersChecked ? 'verified' : 'format-only';
        if (v.state.pointersChecked && v.state.lastPointer !== m.chain.lastPointer) problem(`chain: ends at ${v.state.lastPointer}, the manifest says ${m.chain.lastPointer}`);
      }
      checkChecksums(m, computed, checksumsText, problem);
    }
    report.checked.neighbours = checkNeighbours(m, opts.neighbours ?? [], problem);
  }
  report.ok = report.problems.length === 0;
  if (!report.ok) {
    const status = await par2Status(file);
    if (status.present) {
      report.recovery = status;
      problem(
        status.repairable
          ? `repairable: ${status.damagedBlocks} damaged blocks, ${status.recoveryBlocksAvailable} recovery blocks available (bri archive repair)`
          : `beyond repair: ${status.damagedBlocks} damaged blocks, ${status.recoveryBlocksAvailable} recovery blocks available`,
      );
    }
  }
  return report;
}

function checkChecksums(m: Manifest, computed: Map<string, string>, text: string | null, problem: (p: string) => void): void {
  if (text === null) return problem(`${CHECKSUMS_MEMBER} is missing`);
  let listed: Map<string, string>;
  try {
    listed = parseChecksums(text);
  } catch (err) {
    return problem((err as BriError).message);
  }
  for (const [name, hash] of listed) {
    if (computed.get(name) !== hash) problem(`${CHECKSUMS_MEMBER}: ${name} is listed as ${hash}, the member hashes to ${computed.get(name) ?? '(absent)'}`);
  }
  for (const name of Object.keys(m.integrity.members)) if (!listed.has(name)) problem(`${CHECKSUMS_MEMBER} does not list ${name}`);
  if (!listed.has(MANIFEST_MEMBER)) problem(`${CHECKSUMS_MEMBER} does not list ${MANIFEST_MEMBER}`);
  const content = createHash('sha256').update(contentDigestInput(m.integrity.members)).digest('hex');
  if (content !== m.integrity.contentSha256) problem('integrity.contentSha256 does not match the members');
}

/** The previous archive must end where this one starts, with the pointer it continues; likewise the next. */
function checkNeighbours(m: Manifest, others: ReadonlyArray<{ manifest: Manifest }>, problem: (p: string) => void): number {
  let n = 0;
  for (const o of others) {
    const x = o.manifest;
    if (x.instanceId !== m.instanceId || x.archiveId === m.archiveId) continue;
    if (x.timeRange.walLines.end === m.timeRange.walLines.start) {
      n++;
      if (m.chain.verified && x.chain.lastPointer !== m.chain.prevPointer) problem(`chain: previous archive ${x.archiveId} ends at pointer ${x.chain.lastPointer}, this one continues ${m.chain.prevPointer}`);
    } else if (x.timeRange.walLines.start === m.timeRange.walLines.end) {
      n++;
      if (x.chain.verified && x.chain.prevPointer !== m.chain.lastPointer) problem(`chain: next archive ${x.archiveId} continues pointer ${x.chain.prevPointer}, this one ends at ${m.chain.lastPointer}`);
    } else if (x.timeRange.walLines.start < m.timeRange.walLines.end && m.timeRange.walLines.start < x.timeRange.walLines.end) {
      problem(`archive ${x.archiveId} overlaps lines ${Math.max(x.timeRange.walLines.start, m.timeRange.walLines.start) + 1}..${Math.min(x.timeRange.walLines.end, m.timeRange.walLines.end)}`);
    }
  }
  return n;
}
