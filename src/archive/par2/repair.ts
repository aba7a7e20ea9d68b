/**
 * repairPar2: rebuilds the original bytes of a protected range from what
 * survives of it and the recovery slices of its PAR 2.0 set.
 *
 * With D the m lost slices and e_1..e_m the exponents of m recovery slices,
 *
 *     R_r = Σ_i c_i^e_r · D_i   ⇒   A · lost = R − Σ_{i∉D} c_i^e_r · D_i
 *
 * where A[r][k] = c_{D_k}^e_r. With A⁻¹ solved once (Gauss-Jordan over
 * GF(2^16), m×m), each lost slice is one linear combination of surviving
 * slices and recovery slices:
 *
 *     D_k = Σ_r A⁻¹[k][r] · R_r  +  Σ_{i∉D} (Σ_r A⁻¹[k][r] · c_i^e_r) · D_i
 *
 * which is exactly what the engine computes, in bounded memory. The output
 * is the surviving bytes copied, the rebuilt slices written over the gaps,
 * then checked against the file's MD5 before it is renamed into place, so a
 * wrong result is never published.
 */

import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { BriError, ErrorCodes, asBriError } from '../../errors.js';
import type { KernelChoice } from './math/compute-pool.js';
import { commitTempOutput, discardTempOutput, openTempOutput, readAt, writeAt, type TempOutput } from './io.js';
import { DEFAULT_MEMORY_LIMIT_BYTES, planCombine, runCombine } from './math/linear-combine.js';
import type { Par2Set } from './read.js';
import { chooseRecoverySlices, repairCoefficients, type RecoverySolution } from './solve.js';
import { sourceConstantLogs } from './math/rs-matrix.js';
import { verifyPar2, type Par2Target, type Par2VerifyResult } from './verify.js';

export interface RepairPar2Options {
  /** Memory for data buffers. Default 64 MiB. */
  memoryLimitBytes?: number;
  threads?: number;
  kernel?: KernelChoice;
  /** Progress of the rebuild, in bytes of the range. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
  /** A verification of the same target done just before, to skip doing it again. */
  verified?: Par2VerifyResult;
}

export interface RepairPar2Result {
  /** Slices rebuilt (0-based within the file). */
  repairedBlocks: number[];
  /** Exponents of the recovery slices used. */
  recoveryExponentsUsed: number[];
  /** Bytes written to the output: the recorded length. */
  bytesWritten: number;
}

const COPY_BYTES = 4 * 1024 * 1024;

/**
 * Writes the repaired range (exactly the recorded length, MD5-checked) to
 * outPath through a temp file, fsync and rename. Throws ARCHIVE_CORRUPTED
 * (details { damaged, available }) when more slices are lost than recovery
 * slices exist, PAR2_INVALID when the set cannot drive a repair (lost
 * checksums, several files), IO_ERROR on file errors.
 */
export async function repairPar2(
  set: Par2Set,
  target: Par2Target,
  outPath: string,
  options: RepairPar2Options = {},
): Promise<RepairPar2Result> {
  const verified = options.verified ?? (await verifyPar2(set, target, options.signal ? { signal: options.signal } : {}));
  const file = set.files.find((f) => f.name === verified.name)!;
  const damaged = verified.damagedBlocks;
  const available = set.recoverySlices.length;
  if (damaged.length > 0 && set.files.length !== 1) {
    throw new BriError(ErrorCodes.PAR2_INVALID, `PAR2 set ${set.setId} protects several files; only single-file sets are repaired`);
  }
  if (damaged.length > available) {
    throw new BriError(
      ErrorCodes.ARCHIVE_CORRUPTED,
      `${file.name}: ${damaged.length} blocks damaged, only ${available} recovery blocks available`,
      { hint: 'the damage exceeds the PAR2 redundancy; restore from another copy', details: { damaged: damaged.length, available } },
    );
  }
  const B = set.blockSize;
  const L = file.length;
  const offset = target.offset ?? 0;
  const considered = Math.min(verified.dataLength, L);

  let solved: RecoverySolution | undefined;
  const logs = sourceConstantLogs(set.sourceBlockCount);
  if (damaged.length > 0) {
    solved = chooseRecoverySlices(damaged.map((d) => logs[d]!), set.recoverySlices);
    if (solved === undefined) {
      throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${file.name}: the available recovery blocks do not solve for the damaged ones`, {
        details: { damaged: damaged.length, available },
      });
    }
  }

  const input = await openOrThrow(target.path);
  const recoveryFiles = new Map<string, FileHandle>();
  let out: TempOutput | undefined;
  try {
    out = await openTempOutput(outPath);
    // Surviving bytes first; the gaps are overwritten below.
    const buf = Buffer.alloc(Math.min(COPY_BYTES, Math.max(1, L)));
    for (let pos = 0; pos < considered; pos += buf.length) {
      options.signal?.throwIfAborted();
      const n = await readAt(input, buf, offset + pos, offset + considered);
      await writeAt(out.fh, buf.subarray(0, n), pos);
    }
    await out.fh.truncate(L);

    if (solved !== undefined) {
      const { slices } = solved;
      const m = damaged.length;
      const lost = new Set(damaged);
      const survivors: number[] = [];
      for (let i = 0; i < file.blockCount; i++) if (!lost.has(i)) survivors.push(i);
      const S = survivors.length;
      for (const s of slices) {
        if (!recoveryFiles.has(s.path)) recoveryFiles.set(s.path, await openOrThrow(s.path));
      }
      const combineOptions = {
        memoryLimitBytes: options.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES,
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        ...(options.kernel === undefined ? {} : { kernel: options.kernel }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      };
      const shape = { inputCount: S + m, outputCount: m, blockBytes: B };
      const outFh = out.fh;
      await runCombine(
        {
          ...shape,
          fillCoefficients: repairCoefficients(solved, Uint16Array.from(survivors, (i) => logs[i]!)),
          async readInput(index, x, dest) {
            if (index < S) {
              const at = survivors[index]! * B + x;
              await readAt(input, dest, offset + at, offset + considered);
            } else {
              const slice = slices[index - S]!;
              await readAt(recoveryFiles.get(slice.path)!, dest, slice.dataOffset + x, slice.dataOffset + B);
            }
          },
          async writeOutput(k, x, data) {
            const at = damaged[k]! * B + x;
            const n = Math.max(0, Math.min(data.length, L - at));
            if (n > 0) await writeAt(outFh, data.subarray(0, n), at);
          },
          ...(options.onProgress === undefined
            ? {}
            : { onProgress: (done: number, total: number) => options.onProgress!(Math.round((done / total) * L), L) }),
        },
        planCombine(shape, combineOptions),
        combineOptions,
      );
    }

    // Never publish a wrong result: the output must hash to the recorded MD5.
    const digest = await md5OfFile(out.fh, L, buf);
    if (!digest.equals(file.md5)) {
      throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${file.name}: repaired data does not match the recorded MD5`, {
        hint: 'the PAR2 set or the surviving data is inconsistent; restore from another copy',
        details: { damaged: damaged.length, available },
      });
    }
    await commitTempOutput(out);
    out = undefined;
    return {
      repairedBlocks: [...damaged],
      recoveryExponentsUsed: solved?.slices.map((s) => s.exponent) ?? [],
      bytesWritten: L,
    };
  } catch (err) {
    if (options.signal?.aborted && !(err instanceof BriError)) {
      throw new BriError(ErrorCodes.CANCELLED, 'PAR2 repair cancelled', { cause: err });
    }
    throw err instanceof BriError ? err : asBriError(err, `par2: repair ${outPath}`, outPath);
  } finally {
    if (out !== undefined) await discardTempOutput(out);
    await input.close();
    for (const fh of recoveryFiles.values()) await fh.close();
  }
}

async function openOrThrow(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw asBriError(err, `par2: open ${path}`);
  }
}

async function md5OfFile(fh: FileHandle, length: number, buf: Buffer): Promise<Buffer> {
  const hash = createHash('md5');
  for (let pos = 0; pos < length; pos += buf.length) {
    const n = await readAt(fh, buf, pos, length);
    hash.update(buf.subarray(0, n));
  }
  return hash.digest();
}
