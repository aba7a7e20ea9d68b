/**
 * How a byte range is cut into PAR 2.0 slices, and where packets go in the
 * .par2 file this project writes.
 */

import { BriError, ErrorCodes } from '../../errors.js';
import { MAX_RECOVERY_EXPONENT, MAX_SOURCE_BLOCKS } from './math/rs-matrix.js';

/**
 * Source blocks aimed for when the block size is chosen automatically.
 * par2cmdline defaults to 2000 too: enough that 10% redundancy repairs many
 * scattered small damages, few enough that checksums and the per-block work
 * stay small.
 */
export const TARGET_SOURCE_BLOCKS = 2000;
/** Smallest automatic block size: below it, per-packet overhead (68 bytes + 20 of IFSC) dominates. */
export const MIN_AUTO_BLOCK_BYTES = 512;

export interface SliceLayout {
  blockSize: number;
  sourceBlockCount: number;
  recoveryBlockCount: number;
}

export interface SliceLayoutOptions {
  redundancy: number;
  blockSize?: number | undefined;
  recoveryBlockCount?: number | undefined;
}

/**
 * Picks block size and counts for `length` bytes. Throws USAGE for a block
 * size that is not a positive multiple of 4, or that makes more than 32768
 * source blocks, and for a recovery count beyond what exponents allow.
 */
export function chooseSliceLayout(length: number, opts: SliceLayoutOptions): SliceLayout {
  if (!(opts.redundancy >= 0 && opts.redundancy <= 1)) {
    throw usage(`redundancy must be between 0 and 1, got ${opts.redundancy}`);
  }
  let blockSize: number;
  if (opts.blockSize !== undefined) {
    blockSize = opts.blockSize;
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0 || blockSize % 4 !== 0) {
      throw usage(`blockSize must be a positive multiple of 4, got ${blockSize}`);
    }
  } else {
    const even = Math.ceil(length / TARGET_SOURCE_BLOCKS);
    blockSize = Math.max(MIN_AUTO_BLOCK_BYTES, Math.ceil(even / 4) * 4);
  }
  const sourceBlockCount = Math.ceil(length / blockSize);
  if (sourceBlockCount > MAX_SOURCE_BLOCKS) {
    throw usage(`blockSize ${blockSize} makes ${sourceBlockCount} source blocks; PAR 2.0 allows ${MAX_SOURCE_BLOCKS}`);
  }
  let recoveryBlockCount: number;
  if (opts.recoveryBlockCount !== undefined) {
    recoveryBlockCount = opts.recoveryBlockCount;
    if (!Number.isSafeInteger(recoveryBlockCount) || recoveryBlockCount < 0 || recoveryBlockCount > MAX_RECOVERY_EXPONENT + 1) {
      throw usage(`recoveryBlockCount must be an integer in [0, ${MAX_RECOVERY_EXPONENT + 1}]`);
    }
  } else if (opts.redundancy === 0 || sourceBlockCount === 0) {
    recoveryBlockCount = 0;
  } else {
    // Round up (within float noise) so the set holds at least the redundancy asked for.
    recoveryBlockCount = Math.max(1, Math.ceil(opts.redundancy * sourceBlockCount - 1e-9));
  }
  if (sourceBlockCount === 0) recoveryBlockCount = 0;
  return { blockSize, sourceBlockCount, recoveryBlockCount };
}

function usage(message: string): BriError {
  return new BriError(ErrorCodes.USAGE, message, { hint: 'check the PAR2 options' });
}

export interface Par2FilePlan {
  /** Offsets of each copy of the critical packets (main, file description, IFSC, creator). */
  criticalOffsets: number[];
  /** Offset of recovery packet k (exponent k). */
  recoveryOffsets: number[];
  totalBytes: number;
}

/**
 * Lays out one .par2 file: a copy of the critical packets first, more copies
 * spread between the recovery packets, and one last. Damage that destroys
 * some copies (a bad sector, a torn write) leaves others readable, and a
 * reader that finds any one intact copy can use every recovery packet.
 * Interior copies grow with log2 of the recovery count, as par2cmdline's
 * volume files do.
 */
export function planPar2File(criticalBytes: number, recoveryCount: number, recoveryPacketBytes: number): Par2FilePlan {
  const interior = recoveryCount <= 1 ? 0 : Math.min(recoveryCount - 1, Math.ceil(Math.log2(recoveryCount + 1)));
  const before = new Set<number>();
  for (let t = 1; t <= interior; t++) before.add(Math.floor((t * recoveryCount) / (interior + 1)));
  const criticalOffsets: number[] = [0];
  const recoveryOffsets: number[] = [];
  let at = criticalBytes;
  for (let k = 0; k < recoveryCount; k++) {
    if (before.has(k) && k > 0) {
      criticalOffsets.push(at);
      at += criticalBytes;
    }
    recoveryOffsets.push(at);
    at += recoveryPacketBytes;
  }
  criticalOffsets.push(at);
  at += criticalBytes;
  return { criticalOffsets, recoveryOffsets, totalBytes: at };
}
