/**
 * verifyPar2: which slices of a protected byte range still match the
 * checksums recorded in a PAR 2.0 set, and whether the rest can be rebuilt.
 *
 * The range is read once, sequentially. Each slice is checked by CRC32 first
 * and, when that matches, by MD5. When every slice matches and the length is
 * right, the bytes are the original ones with the same certainty a whole-file
 * MD5 would give (both rest on MD5), so that second hash over everything is
 * only computed on request (`checkFileMd5`), on its own thread for large
 * ranges. A range shorter than recorded (truncated) loses every slice that
 * reaches past its end; a longer one is checked on the recorded length and
 * reported as not intact, since it is not the original bytes.
 */

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { BriError, ErrorCodes, asBriError } from '../../errors.js';
import { createBackgroundMd5, createInlineMd5 } from './background-md5.js';
import { crc32 } from './crc32.js';
import { readAt } from './io.js';
import { IFSC_ENTRY_BYTES } from './packets.js';
import type { Par2FileEntry, Par2Set } from './read.js';
import type { KnownSlices } from './slice-hasher.js';

/** Where the protected bytes are now. */
export interface Par2Target {
  path: string;
  /** Where the range starts in the file; default 0. */
  offset?: number;
  /** Bytes of the range as it is now; default: to the end of the file. */
  length?: number;
  /** Which file of the set this is; needed only when the set has several. */
  name?: string;
}

export interface Par2VerifyResult {
  /** The file's name as recorded in the set. */
  name: string;
  /** Length recorded in the set. */
  expectedLength: number;
  /** Bytes actually present in the range (may be more or less than expected). */
  dataLength: number;
  totalBlocks: number;
  /** Slices (0-based, within the file) that are damaged or missing, ascending. */
  damagedBlocks: number[];
  /** How many of damagedBlocks are missing because the range is truncated. */
  missingBlocks: number;
  recoveryBlocksAvailable: number;
  /** Whether a repair can rebuild the original bytes. */
  repairable: boolean;
  /**
   * True when the range is the original bytes: every slice matches its
   * recorded MD5 and CRC32 and the length is the recorded one (and, with
   * `checkFileMd5`, the whole range matches the recorded MD5 as well).
   */
  intact: boolean;
}

/** Bytes read per step. */
const VERIFY_READ_BYTES = 4 * 1024 * 1024;
/** From this size on, the whole-range MD5 gets its own thread (starting one costs ~20 ms). */
const BACKGROUND_MD5_MIN_BYTES = 32 * 1024 * 1024;

export interface VerifyPar2Options {
  /** Also compare the whole range's MD5 with the file description's (one more hash pass). Default false. */
  checkFileMd5?: boolean;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
  /**
   * The entries of the range's first whole slices, hashed while another pass read the range (a
   * verify of an archive reads it once for its members): those slices are compared, not read again.
   * Taken only at the set's block size, and only for slices the range holds whole and the block size is the set's.
   */
  known?: KnownSlices;
}

/** Picks the set's entry for a target: by name, or the only file. Throws USAGE when ambiguous. */
export function selectFile(set: Par2Set, target: Par2Target): Par2FileEntry {
  if (target.name !== undefined) {
    const f = set.files.find((x) => x.name === target.name);
    if (f === undefined) {
      throw new BriError(ErrorCodes.USAGE, `PAR2 set ${set.setId} has no file named ${JSON.stringify(target.name)}`, {
        details: { files: set.files.map((x) => x.name) },
      });
    }
    return f;
  }
  if (set.files.length !== 1) {
    throw new BriError(ErrorCodes.USAGE, `PAR2 set ${set.setId} protects ${set.files.length} files; say which one by name`, {
      details: { files: set.files.map((x) => x.name) },
    });
  }
  return set.files[0]!;
}

/** Bytes of the target range present in its file (the file may be shorter than asked). */
export async function presentLength(target: Par2Target): Promise<{ offset: number; dataLength: number }> {
  const offset = target.offset ?? 0;
  let size: number;
  try {
    const fh = await open(target.path, 'r');
    try {
      size = (await fh.stat()).size;
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw asBriError(err, `par2: open ${target.path}`);
  }
  const inFile = Math.max(0, size - offset);
  return { offset, dataLength: target.length === undefined ? inFile : Math.min(target.length, inFile) };
}

/**
 * Checks the target against the set. Throws PAR2_INVALID when the set lacks
 * the file's slice checksums, IO_ERROR when the target cannot be read.
 */
export async function verifyPar2(set: Par2Set, target: Par2Target, options: VerifyPar2Options = {}): Promise<Par2VerifyResult> {
  const file = selectFile(set, target);
  if (file.checksums === undefined) {
    throw new BriError(ErrorCodes.PAR2_INVALID, `PAR2 set ${set.setId}: slice checksums of ${file.name} are lost`, {
      hint: 'every copy of the IFSC packet is damaged',
    });
  }
  const { offset, dataLength } = await presentLength(target);
  const B = set.blockSize;
  const L = file.length;
  const considered = Math.min(dataLength, L);
  const damagedBlocks: number[] = [];
  let missingBlocks = 0;
  // Without the whole-file MD5, "matches" rests on the slice checks (and the length) alone.
  let md5Ok = options.checkFileMd5 !== true && considered === L;

  let fh;
  try {
    fh = await open(target.path, 'r');
  } catch (err) {
    throw asBriError(err, `par2: open ${target.path}`);
  }
  // The whole-range MD5 (pointless when bytes are missing) runs on another thread for large
  // ranges, beside the per-slice hashes here.
  const fileHash =
    options.checkFileMd5 !== true || considered < L
      ? undefined
      : considered >= BACKGROUND_MD5_MIN_BYTES
        ? createBackgroundMd5()
        : createInlineMd5();
  // Slices hashed already: whole ones, inside the range as it is now and as recorded (the last, padded, is read again).
  const known = options.known !== undefined && options.known.blockSize === B && fileHash === undefined ? options.known : null;
  const skip = known === null ? 0 : Math.min(known.slices, Math.floor(Math.min(considered, L) / B));
  for (let index = 0; index < skip; index++) {
    const at = index * IFSC_ENTRY_BYTES;
    if (!known!.entries.subarray(at, at + IFSC_ENTRY_BYTES).equals(file.checksums.subarray(at, at + IFSC_ENTRY_BYTES))) damagedBlocks.push(index);
  }
  if (skip > 0) options.onProgress?.(skip * B, considered);
  try {
    // Whole slices per read, so each slice is checked from one buffer.
    const perRead = Math.max(1, Math.floor(VERIFY_READ_BYTES / B));
    const readBuf = Buffer.alloc(Math.min(perRead, Math.max(1, file.blockCount - skip)) * B);
    for (let first = skip; first < file.blockCount; first += perRead) {
      options.signal?.throwIfAborted();
      const count = Math.min(perRead, file.blockCount - first);
      const start = first * B;
      const buf = readBuf.subarray(0, count * B);
      const got = start < considered ? await readAt(fh, buf, offset + start, offset + considered) : (buf.fill(0), 0);
      for (let k = 0; k < count; k++) {
        const index = first + k;
        const sliceEnd = Math.min((index + 1) * B, L);
        if (sliceEnd > considered) {
          damagedBlocks.push(index);
          missingBlocks++;
          continue;
        }
        // readAt zero-filled past the data, which is the padding PAR 2.0 hashes the last slice with.
        if (!sliceMatches(buf.subarray(k * B, (k + 1) * B), file.checksums, index)) damagedBlocks.push(index);
      }
      if (got > 0) await fileHash?.update(buf.subarray(0, got));
      options.onProgress?.(Math.min(considered, start + count * B), considered);
    }
    if (fileHash !== undefined) md5Ok = (await fileHash.digest()).equals(file.md5);
  } catch (err) {
    await fileHash?.close();
    throw err instanceof BriError ? err : asBriError(err, `par2: verify ${target.path}`);
  } finally {
    await fh.close();
  }

  const recoveryBlocksAvailable = set.recoverySlices.length;
  const intact = damagedBlocks.length === 0 && dataLength === L && md5Ok;
  // Repair needs every other file of the set too; this API handles one, so a multi-file set repairs only if nothing is lost.
  const capacity = set.files.length === 1 ? recoveryBlocksAvailable : 0;
  return {
    name: file.name,
    expectedLength: L,
    dataLength,
    totalBlocks: file.blockCount,
    damagedBlocks,
    missingBlocks,
    recoveryBlocksAvailable,
    repairable: damagedBlocks.length <= capacity && (damagedBlocks.length > 0 || md5Ok),
    intact,
  };
}

/**
 * Whether `slice` (a whole block, zero-filled past the file's end as PAR 2.0 hashes the last one) is
 * slice `index` of `file` as recorded: lets a caller try a candidate fix of a damaged block.
 */
export function sliceIsRecorded(file: Par2FileEntry, index: number, slice: Uint8Array): boolean {
  return file.checksums !== undefined && index < file.blockCount && sliceMatches(slice, file.checksums, index);
}

function sliceMatches(slice: Uint8Array, checksums: Buffer, index: number): boolean {
  const at = index * IFSC_ENTRY_BYTES;
  if (crc32(slice) !== checksums.readUInt32LE(at + 16)) return false;
  const digest = createHash('md5').update(slice).digest();
  return digest.equals(checksums.subarray(at, at + 16));
}
