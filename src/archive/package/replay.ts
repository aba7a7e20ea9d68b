/**
 * Rebuilds the state at the end of an archive (or at a point inside it) by
 * reading its starting snapshot and replaying its WAL members, streamed.
 */
import { createHash } from 'node:crypto';
import { BriError, ErrorCodes } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { decodeSnapshot } from '../../format/snapshot-file.js';
import { applyOperation, type DbState } from '../../format/state.js';
import { parseWalLine } from '../../format/wal-line.js';
import type { Manifest } from '../../format/manifest.js';
import { lineOperation } from '../../store/wal/wal-entry.js';
import { decompressChunks } from './compress.js';
import { MAX_TEXT_BYTES, readPackage } from './reader.js';
import type { AgeIdentity } from '../crypto/age-keys.js';
import { decryptChunks } from '../crypto/age-stream.js';
import { identityMissing } from '../crypto/errors.js';

export interface ReplayOptions {
  key?: EncryptionKey;
  /** Opens an archive encrypted with age (without it, such an archive is ENCRYPTION_KEY_MISSING). */
  age?: AgeIdentity | null;
  /** Stop before the first line with a timestamp after this. */
  untilTimestamp?: number;
  /** Stop after this absolute line. */
  untilLine?: number;
}

export interface ReplayResult {
  manifest: Manifest;
  state: DbState;
  /** Absolute number of the last line applied (the snapshot's line if none). */
  appliedThrough: number;
}

/**
 * Splits decompressed chunks into lines, one batch of lines per chunk (a promise per line
 * would cost more than the lines), cut at line ends only (a character may span two chunks).
 * Memory: a chunk plus one partial line, which stops with ARCHIVE_CORRUPTED past the longest
 * line a store can read (MAX_TEXT_BYTES) instead of growing until the process runs out.
 */
export async function* splitLineBatches(chunks: AsyncIterable<Buffer>, member: string): AsyncGenerator<string[]> {
  let carry: Buffer[] = [];
  let carried = 0;
  for await (const c of chunks) {
    const nl = c.lastIndexOf(0x0a);
    if (nl < 0) {
      carry.push(c);
      if ((carried += c.length) > MAX_TEXT_BYTES) throw lineTooLong(member);
      continue;
    }
    if (carried + nl > MAX_TEXT_BYTES) throw lineTooLong(member);
    const text = (carried > 0 ? Buffer.concat([...carry, c.subarray(0, nl)]) : c.subarray(0, nl)).toString('utf8');
    carry = [c.subarray(nl + 1)];
    carried = c.length - nl - 1;
    yield text.split('\n');
  }
  if (carried > 0) yield [Buffer.concat(carry).toString('utf8')];
}

/** Worded as the decoder threads word it (decoder/member-decoder.ts, kind 'line'). */
function lineTooLong(member: string): BriError {
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${member} holds a line longer than ${MAX_TEXT_BYTES} bytes, more than BRI can read as one line (the longest string Node can make)`, {
    hint: "No BRI store writes such a line: the archive is hostile or not BRI's, and it was not unpacked. Restore an earlier archive or use another copy.",
    details: { member },
  });
}

export async function replayArchive(file: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  let state: DbState | null = null;
  let applied = 0;
  let stopped = false;
  let manifestRef: Manifest | null = null;
  const manifest = await readPackage(file, {
    async member(info, stored) {
      const data = manifestRef!.encryption ? decryptChunks(stored, opts.age ?? null, info.name) : stored;
      if (info.kind === 'snapshot') {
        const chunks: Buffer[] = [];
        const hash = createHash('sha256');
        for await (const c of decompressChunks(data, info.name, manifestRef!.contents.snapshot.originalSize)) {
          hash.update(c);
          chunks.push(c);
        }
        if (hash.digest('hex') !== manifestRef!.contents.snapshot.contentSha256) {
          throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${info.name} does not match its checksum`, { hint: 'Repair the archive or use another copy.' });
        }
        state = decodeSnapshot(Buffer.concat(chunks).toString('utf8'), opts.key).state;
        applied = manifestRef!.timeRange.walLines.start;
        return;
      }
      if (info.kind !== 'wal' || stopped || state === null) return;
      let lineNo = info.segment!.firstLine;
      for await (const batch of splitLineBatches(decompressChunks(data, info.name, info.segment!.originalSize), info.name)) for (const text of batch) {
        const parsed = parseWalLine(text);
        if (parsed === null) {
          throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${info.name}: line ${lineNo} does not parse`, { hint: 'Repair the archive or use another copy.' });
        }
        if ((opts.untilTimestamp !== undefined && parsed.timestamp > opts.untilTimestamp) || (opts.untilLine !== undefined && lineNo > opts.untilLine)) {
          stopped = true;
          return;
        }
        applyOperation(state, lineOperation(parsed, opts.key));
        applied = lineNo;
        lineNo++;
      }
    },
    manifest(m) {
      if (m.encryption && !opts.age) throw identityMissing(`archive ${m.archiveId}`);
      manifestRef = m;
    },
  });
  if (state === null) throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${file} has no starting snapshot`, { hint: 'Use another copy.' });
  return { manifest, state, appliedThrough: applied };
}

/**
 * The point-in-time rule, one for every executor (an archive's lines, shipped lines): a restore to
 * T holds every line whose timestamp is <= T and stops at the first later one.
 */
export function pastTarget(timestamp: number, untilTimestamp: number | null): boolean {
  return untilTimestamp !== null && timestamp > untilTimestamp;
}
