/**
 * createPar2: protects a byte range of a file with a PAR 2.0 recovery set
 * written as one .par2 file.
 *
 * Order of work:
 *  1. Hash the first 16 KiB: that fixes the file id, hence the main packet
 *     and the recovery set id, which every packet's MD5 starts with.
 *  2. Lay out the output. Every packet's size is known before any data is
 *     read (IFSC: 20 bytes per slice), so recovery data can be written at its
 *     final offset as soon as it is computed.
 *  3. Run the Reed-Solomon engine over the source blocks. When it covers
 *     whole blocks in one pass, the slice and file hashes are computed from
 *     the same reads; otherwise a sequential hashing pass comes first.
 *  4. Write the critical packets (all copies) and the recovery headers, whose
 *     MD5s were accumulated as the data went out; fsync; rename into place.
 */

import { open, type FileHandle } from 'node:fs/promises';
import type { Hash } from 'node:crypto';
import { BriError, ErrorCodes, asBriError } from '../../errors.js';
import type { KernelChoice } from './math/compute-pool.js';
import { commitTempOutput, discardTempOutput, openTempOutput, readAt, WindowedReader, writeAt } from './io.js';
import { chooseSliceLayout, planPar2File } from './layout.js';
import { DEFAULT_MEMORY_LIMIT_BYTES, planCombine, runCombine } from './math/linear-combine.js';
import {
  MD5_16K_BYTES,
  PACKET_HEADER_BYTES,
  PacketType,
  RECOVERY_DATA_OFFSET,
  computeFileId,
  encodeCreatorBody,
  encodeFileDescBody,
  encodeHeader,
  encodeIfscBody,
  encodeMainBody,
  encodePacket,
  encodeRecoveryPrefix,
  md5,
  startPacketHash,
} from './packets.js';
import { recoveryCoefficient, sourceConstantLogs } from './math/rs-matrix.js';
import { SliceHasher } from './slice-hasher.js';

/** A byte range of a file, protected under the name `name`. */
export interface Par2Input {
  path: string;
  /** First byte of the range; default 0. */
  offset?: number;
  /** Bytes in the range. */
  length: number;
  /** The file name recorded in the PAR2 set (what `par2 verify` will look for). */
  name: string;
  /**
   * Resolves once the bytes before the absolute offset `end` can be read: the set is then computed
   * while the range is still being written (each read waits for its bytes), not after.
   */
  ready?: (end: number) => Promise<void>;
}

export interface CreatePar2Options {
  /** Recovery blocks as a fraction of source blocks, 0..1. Default 0.1. */
  redundancy?: number;
  /** Slice size in bytes, a multiple of 4. Default: about length/2000, at least 512. */
  blockSize?: number;
  /** Recovery blocks to make, overriding `redundancy`. */
  recoveryBlockCount?: number;
  /** Text of the creator packet. Default names this project. */
  creator?: string;
  /** Progress in bytes of the range, over every pass. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Memory for data buffers. Default 64 MiB. Larger inputs take more passes, not more memory. */
  memoryLimitBytes?: number;
  /** Worker threads; default: none for small jobs, one per core otherwise. */
  threads?: number;
  /** Multiply-accumulate kernel; default 'auto' (WebAssembly SIMD when available). */
  kernel?: KernelChoice;
  signal?: AbortSignal;
}

export interface CreatePar2Result {
  blockSize: number;
  sourceBlockCount: number;
  recoveryBlockCount: number;
  /** Recovery set id, hex. */
  setId: string;
  /** File id of the protected range, hex. */
  fileId: string;
  /** Size of the written .par2 file. */
  par2Bytes: number;
}

export const DEFAULT_REDUNDANCY = 0.1;
export const DEFAULT_CREATOR = 'BRI Archive & Restore (PAR 2.0)';
/** Read size of the sequential hashing pass. */
const HASH_READ_BYTES = 1024 * 1024;
/** Read size when the slices are read whole, in file order. */
const READ_WINDOW_BYTES = 1024 * 1024;

/**
 * Writes a PAR 2.0 set protecting input's byte range to `outPath` (via a
 * temp file, fsynced, then renamed). Throws USAGE for bad options, IO_ERROR
 * when the input cannot be read or is shorter than the range, CANCELLED when
 * `signal` aborts. On failure nothing is left at `outPath` or beside it.
 * An empty range gives a set with no slices, which this module reads and
 * verifies; par2cmdline refuses to make such sets and reports them damaged.
 *
 * The output is deterministic (no clock, no randomness): the same bytes,
 * name and options always give the same file, so a repaired archive can
 * regenerate its recovery data byte for byte.
 */
export async function createPar2(input: Par2Input, outPath: string, options: CreatePar2Options = {}): Promise<CreatePar2Result> {
  const offset = input.offset ?? 0;
  const { length, name } = input;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new BriError(ErrorCodes.USAGE, `invalid PAR2 input range: offset ${offset}, length ${length}`);
  }
  if (name.length === 0 || name.includes('\0')) {
    throw new BriError(ErrorCodes.USAGE, 'the PAR2 file name must be non-empty and contain no NUL');
  }
  const memoryLimitBytes = options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES;
  const layout = chooseSliceLayout(length, {
    redundancy: options.redundancy ?? DEFAULT_REDUNDANCY,
    blockSize: options.blockSize,
    recoveryBlockCount: options.recoveryBlockCount,
  });
  const { blockSize: B, sourceBlockCount: N, recoveryBlockCount: M } = layout;

  let fh: FileHandle;
  try {
    fh = await open(input.path, 'r');
  } catch (err) {
    throw asBriError(err, `par2: open ${input.path}`);
  }
  try {
    const end = offset + length;
    const short = (at: number): BriError => new BriError(ErrorCodes.IO_ERROR, `par2: ${input.path} ends before ${at}, the range ends at ${end}`);
    const ready = input.ready;
    if (ready === undefined) {
      const size = (await fh.stat()).size;
      if (size < end) throw short(size);
    }
    // Whole slices are read in file order (one pass): from windows. Narrower reads (several passes) each alone.
    let windowed: WindowedReader | null = null;
    /** Reads the range's bytes at `pos` into `dest` (zeros past the range's end), once they are there. */
    const readIn = async (dest: Uint8Array, pos: number): Promise<number> => {
      const want = Math.max(0, Math.min(dest.length, end - pos));
      let n: number;
      if (windowed !== null) n = await windowed.read(dest, pos);
      else {
        if (ready !== undefined) await ready(pos + want);
        n = await readAt(fh, dest, pos, end);
      }
      if (n < want) throw short(pos + n);
      return n;
    };

    // 1. Identity of the set.
    const head = Buffer.alloc(Math.min(MD5_16K_BYTES, length));
    await readIn(head, offset);
    const md5_16k = md5(head);
    const fileId = computeFileId(md5_16k, length, name);
    const mainBody = encodeMainBody({ sliceSize: B, recoveryFileIds: [fileId], nonRecoveryFileIds: [] });
    const setId = md5(mainBody);

    // 2. Layout of the output.
    const creator = options.creator ?? DEFAULT_CREATOR;
    const criticalBytes =
      PACKET_HEADER_BYTES * 4 +
      mainBody.length +
      encodeFileDescBody({ fileId, md5: md5_16k, md5_16k, length, name }).length +
      encodeIfscBody({ fileId, entries: Buffer.alloc(N * 20) }).length +
      encodeCreatorBody(creator).length;
    const filePlan = planPar2File(criticalBytes, M, RECOVERY_DATA_OFFSET + B);

    const out = await openTempOutput(outPath);
    try {
      // 3. Hashes and recovery data.
      const combineOptions = {
        memoryLimitBytes,
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        ...(options.kernel === undefined ? {} : { kernel: options.kernel }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      };
      const plan = planCombine({ inputCount: N, outputCount: M, blockBytes: B }, combineOptions);
      const hashPass = M === 0 || plan.passes > 1;
      if (!hashPass) windowed = new WindowedReader(fh, end, READ_WINDOW_BYTES, ready);
      const units = (hashPass ? 1 : 0) + (M > 0 ? 1 : 0);
      const report = (unit: number, fraction: number): void =>
        options.onProgress?.(Math.round((unit + fraction) * length), units * length);
      const hasher = new SliceHasher(length, B);

      if (hashPass) {
        const buf = Buffer.alloc(Math.min(HASH_READ_BYTES, Math.max(1, length)));
        for (let pos = offset; pos < end; pos += buf.length) {
          options.signal?.throwIfAborted();
          const n = await readIn(buf, pos);
          hasher.update(buf.subarray(0, n));
          report(0, (pos + n - offset) / length);
        }
      }

      if (M > 0) {
        const logs = sourceConstantLogs(N);
        const recoveryHashes: Hash[] = [];
        for (let j = 0; j < M; j++) {
          recoveryHashes.push(startPacketHash(setId, PacketType.RECOVERY).update(encodeRecoveryPrefix(j)));
        }
        // Hashing must see blocks in file order; reads of a group complete in any order.
        let hashChain: Promise<void> = Promise.resolve();
        await runCombine(
          {
            inputCount: N,
            outputCount: M,
            blockBytes: B,
            fillCoefficients(first, count, dest) {
              for (let j = 0; j < M; j++) {
                for (let i = 0; i < count; i++) dest[j * count + i] = recoveryCoefficient(logs[first + i]!, j);
              }
            },
            readInput(index, x, dest) {
              const read = readIn(dest, offset + index * B + x);
              if (hashPass) return read.then(() => undefined);
              // Awaited by the chain below, in file order; a read that fails before (or after) its turn is still handled.
              read.catch(() => undefined);
              hashChain = hashChain.then(async () => {
                await read;
                hasher.update(dest.subarray(0, Math.min(B, length - index * B)));
              });
              return hashChain;
            },
            async writeOutput(j, x, data) {
              await writeAt(out.fh, data, filePlan.recoveryOffsets[j]! + RECOVERY_DATA_OFFSET + x);
              recoveryHashes[j]!.update(data);
            },
            onProgress: (done, total) => report(hashPass ? 1 : 0, done / total),
          },
          plan,
          combineOptions,
        );
        for (let j = 0; j < M; j++) {
          const header = encodeHeader(setId, PacketType.RECOVERY, RECOVERY_DATA_OFFSET + B, recoveryHashes[j]!.digest());
          await writeAt(out.fh, Buffer.concat([header, encodeRecoveryPrefix(j)]), filePlan.recoveryOffsets[j]!);
        }
      }

      // 4. Critical packets, now that every hash is known.
      const fileMd5 = hasher.finish();
      const entries = hasher.entries!;
      const critical = Buffer.concat([
        encodePacket(setId, PacketType.MAIN, mainBody),
        encodePacket(setId, PacketType.FILE_DESC, encodeFileDescBody({ fileId, md5: fileMd5, md5_16k, length, name })),
        encodePacket(setId, PacketType.IFSC, encodeIfscBody({ fileId, entries })),
        encodePacket(setId, PacketType.CREATOR, encodeCreatorBody(creator)),
      ]);
      if (critical.length !== criticalBytes) throw new Error(`par2: critical packets are ${critical.length} bytes, planned ${criticalBytes}`);
      for (const at of filePlan.criticalOffsets) await writeAt(out.fh, critical, at);
      await commitTempOutput(out);
    } catch (err) {
      await discardTempOutput(out);
      throw err;
    }
    return {
      blockSize: B,
      sourceBlockCount: N,
      recoveryBlockCount: M,
      setId: setId.toString('hex'),
      fileId: fileId.toString('hex'),
      par2Bytes: filePlan.totalBytes,
    };
  } catch (err) {
    if (options.signal?.aborted && !(err instanceof BriError)) {
      throw new BriError(ErrorCodes.CANCELLED, 'PAR2 creation cancelled', { cause: err });
    }
    throw err instanceof BriError ? err : asBriError(err, `par2: create ${outPath}`, outPath);
  } finally {
    await fh.close();
  }
}
