/**
 * PAR2 recovery data for whole archives. The PAR2 set protects every byte of
 * the package before the `recovery.par2` member (tar headers, manifest,
 * members, checksums), recorded as a file named `<archiveId>.tar`, so that
 * par2cmdline can rebuild it from a damaged archive too. Repair rebuilds that
 * prefix (or, when the recovery data alone is hurt, takes it as it is: its
 * checks are in integrity.ts), then writes the recovery member again from it
 * with the block size and count the manifest records (PAR2 output is
 * deterministic), giving back the original file byte for byte.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { BriError, ErrorCodes, isHostFault } from '../../errors.js';
import { RECOVERY_MEMBER, type Manifest } from '../../format/manifest.js';
import { commitFile, freshFile, makeDirs, openOwnFile } from '../../store/durable-fs.js';
import { ARCHIVE_EXTENSION } from './ids.js';
import { checkArchiveBytes, largestWriterSlice, protectedName, readLayout, TAR_BLOCK, type ByteCheck, type PackageLayout } from './integrity.js';
import { chooseSliceLayout, createPar2, repairPar2 } from '../par2/index.js';
import { readManifest } from './reader.js';
import { guardedPipe } from './writer.js';
import { scratchPath, sweepScratch } from './scratch.js';

export { protectedName, type Par2Status } from './integrity.js';

/**
 * PAR2 recovery data over the whole package before it. The parameters are planned from
 * the package's size before anything is written, so that the manifest can record them.
 */
export interface RecoveryWriter {
  redundancy: number;
  plan(protectedBytes: number): { blockSize: number; recoveryBlockCount: number };
  /**
   * Writes PAR2 data protecting bytes [0, prefixBytes) of `packagePath` (recorded as file `name`) into
   * `outPath`; returns its size. With `ready`, the package is still being written: each read waits for it.
   */
  write(packagePath: string, prefixBytes: number, outPath: string, plan: { blockSize: number; recoveryBlockCount: number }, name: string, ready?: (end: number) => Promise<void>): Promise<number>;
}

export const DEFAULT_REDUNDANCY = 0.1;

/**
 * `threads`: PAR2 arithmetic on worker threads even for small archives (a running database
 * passes 1, so that its writers' thread is not held for the length of the computation).
 */
export function par2RecoveryWriter(redundancy: number = DEFAULT_REDUNDANCY, opts: { threads?: number } = {}): RecoveryWriter {
  if (!(redundancy > 0 && redundancy <= 1)) {
    throw new BriError(ErrorCodes.CONFIG_INVALID, `errorCorrection.redundancy must be in (0, 1], got ${redundancy}`, {
      hint: 'Use 0.1 for 10%; disable error correction with enabled: false.',
    });
  }
  return {
    redundancy,
    plan(protectedBytes) {
      const l = chooseSliceLayout(protectedBytes, { redundancy });
      return { blockSize: l.blockSize, recoveryBlockCount: Math.max(1, l.recoveryBlockCount) };
    },
    async write(packagePath, prefixBytes, outPath, plan, name, ready) {
      const r = await createPar2({ path: packagePath, offset: 0, length: prefixBytes, name, ...(ready ? { ready } : {}) }, outPath, {
        blockSize: plan.blockSize,
        recoveryBlockCount: plan.recoveryBlockCount,
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      });
      return r.par2Bytes;
    },
  };
}

export interface RepairResult {
  /** The repaired archive (equal to `file` for an intact one). */
  file: string;
  archiveId: string;
  damagedBlocks: number;
  repairedBlocks: number;
  recoveryBlocksAvailable: number;
  /** False when the archive was intact and nothing was written. */
  repaired: boolean;
  /** The data itself was damaged (and is rebuilt). */
  dataRepaired: boolean;
  /** The recovery data was damaged or missing, and is written again from the (intact or rebuilt) data. */
  recoveryDataDamaged: boolean;
  /** What was wrong, as verification says it. */
  problems: string[];
}

async function copyPrefix(file: string, length: number, out: string): Promise<void> {
  await pipeline(fs.createReadStream(file, { start: 0, end: length - 1 }), (await freshFile(out)).createWriteStream());
}

/** The prefix with its tar padding as the writer leaves it (zeros); members and headers as they are. */
async function copyPrefixZeroPadding(file: string, layout: PackageLayout, length: number, out: string): Promise<void> {
  await copyPrefix(file, length, out);
  const fh = await openOwnFile(out, fs.constants.O_RDWR);
  try {
    for (const m of layout.members) {
      const end = m.offset + Math.ceil(m.size / TAR_BLOCK) * TAR_BLOCK;
      if (end > m.offset + m.size) await fh.write(Buffer.alloc(end - m.offset - m.size), 0, end - m.offset - m.size, m.offset + m.size);
    }
  } finally {
    await fh.close();
  }
}

/** Appends the recovery member and the end of the tar after a rebuilt prefix. */
async function appendRecoveryMember(prefixPath: string, manifest: Manifest, par2Path: string, par2Bytes: number): Promise<void> {
  const pack = tar.pack();
  const { done, guarded } = guardedPipe(pack, (await openOwnFile(prefixPath, fs.constants.O_WRONLY | fs.constants.O_APPEND)).createWriteStream());
  try {
    await guarded(
      new Promise<void>((resolve, reject) => {
        const header = { name: RECOVERY_MEMBER, size: par2Bytes, mode: 0o644, mtime: manifest.createdAt, uid: 0, gid: 0, uname: '', gname: '', type: 'file' as const };
        const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
        pipeline(fs.createReadStream(par2Path), sink as unknown as NodeJS.WritableStream).catch(reject);
      }),
    );
    pack.finalize();
    await done;
  } catch (err) {
    pack.destroy();
    throw err;
  }
}

function beyondRepair(file: string, bytes: ByteCheck, read: Awaited<ReturnType<typeof readLayout>>): BriError {
  const hint = 'Use another copy of the archive (another source), or an earlier archive.';
  if (bytes.par2) {
    return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${file} is damaged beyond repair: ${bytes.par2.damagedBlocks} damaged blocks, ${bytes.par2.recoveryBlocksAvailable} recovery blocks available`, {
      hint,
      details: { damaged: bytes.par2.damagedBlocks, available: bytes.par2.recoveryBlocksAvailable, file },
    });
  }
  const data = read.error ? read.error.message : read.membersMatch ? 'the archive was made without recovery data' : 'its members do not match their checksums';
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${file} cannot be repaired: ${bytes.recoveryProblem ?? 'it holds no usable PAR2 recovery data'}, and ${data}`, {
    hint,
    details: { file, problems: [...bytes.dataProblems, ...(bytes.recoveryProblem ? [bytes.recoveryProblem] : [])] },
  });
}

/**
 * Repairs a damaged archive into `outPath` (scratch file beside it, fsync, rename; `outPath` may be
 * `file` itself for an in-place repair): damaged data from the PAR2 data, damaged recovery data from
 * the intact data. ARCHIVE_CORRUPTED with the counts when the damage is beyond what can be rebuilt.
 */
export async function repairArchive(file: string, outPath: string): Promise<RepairResult> {
  const dir = path.dirname(path.resolve(outPath));
  await sweepScratch(dir);
  const read = await readLayout(file);
  // A file the host would not let us read (a permission, too many open files) is not beyond repair: say why.
  if (isHostFault(read.error)) throw read.error;
  const bytes = await checkArchiveBytes(file, read);
  const archiveId = read.manifest?.archiveId ?? bytes.set?.files[0]!.name.replace(/\.tar$/, '') ?? path.basename(file, ARCHIVE_EXTENSION);
  const counts = { damagedBlocks: bytes.par2?.damagedBlocks ?? 0, recoveryBlocksAvailable: bytes.par2?.recoveryBlocksAvailable ?? 0 };
  const problems = [...bytes.dataProblems, ...(bytes.recoveryProblem ? [bytes.recoveryProblem] : [])];
  if (bytes.dataIntact && bytes.recoveryProblem === null) {
    return { file, archiveId, ...counts, repairedBlocks: 0, repaired: false, dataRepaired: false, recoveryDataDamaged: false, problems };
  }
  if (!bytes.repairable) throw beyondRepair(file, bytes, read);
  const tmp = scratchPath(dir, `repair-${path.basename(outPath)}`);
  const par2Tmp = scratchPath(dir, 'recovery.par2');
  const zeroed = scratchPath(dir, 'zeroed-padding');
  try {
    let repairedBlocks = 0;
    let prefixBytes: number;
    if (bytes.set && bytes.verified) {
      const v = bytes.verified;
      prefixBytes = bytes.set.files[0]!.length;
      if (v.intact) await copyPrefix(file, prefixBytes, tmp);
      else if (!bytes.zeroPadding) repairedBlocks = (await repairPar2(bytes.set, { path: file, offset: 0, length: v.dataLength }, tmp, { verified: v })).repairedBlocks.length;
      else {
        // Zeros in the padding mend some blocks (checked against their PAR2 checksums); the PAR2 data rebuilds the rest.
        await copyPrefixZeroPadding(file, read.layout, Math.min(prefixBytes, v.dataLength), zeroed);
        if (bytes.blocksToRebuild === 0) await fsp.rename(zeroed, tmp);
        else await repairPar2(bytes.set, { path: zeroed, offset: 0, length: Math.min(prefixBytes, v.dataLength) }, tmp);
        repairedBlocks = v.damagedBlocks.length;
      }
    } else {
      prefixBytes = read.layout.prefixBytes!;
      await copyPrefixZeroPadding(file, read.layout, prefixBytes, tmp);
    }
    // The prefix now holds an intact manifest: the recovery member is made again exactly as at creation.
    const manifest = await readManifest(tmp);
    const ec = manifest.errorCorrection;
    // A slice size the writer never chooses for this prefix (a crafted manifest's) is left to the writer's own choice.
    const blockSize = ec.blockSize ?? bytes.set?.blockSize;
    const made = await createPar2({ path: tmp, offset: 0, length: prefixBytes, name: protectedName(manifest.archiveId) }, par2Tmp, {
      redundancy: ec.redundancy,
      ...(blockSize !== undefined && blockSize <= largestWriterSlice(prefixBytes) ? { blockSize } : {}),
      ...((ec.recoveryBlockCount ?? bytes.set?.recoverySlices.length) !== undefined ? { recoveryBlockCount: (ec.recoveryBlockCount ?? bytes.set?.recoverySlices.length)! } : {}),
    });
    await appendRecoveryMember(tmp, manifest, par2Tmp, made.par2Bytes);
    await commitFile(tmp, outPath);
    return {
      file: path.resolve(outPath),
      archiveId: manifest.archiveId,
      ...counts,
      repairedBlocks,
      repaired: true,
      dataRepaired: !bytes.dataIntact,
      recoveryDataDamaged: bytes.recoveryProblem !== null,
      problems,
    };
  } finally {
    await Promise.all([tmp, par2Tmp, zeroed].map((f) => fsp.rm(f, { force: true })));
  }
}

/** `repairArchive` into a folder made for it (the default `repaired/`): a repair that fails leaves no empty folder behind. */
export async function repairIntoNewFolder(file: string, outPath: string): Promise<RepairResult> {
  const dir = path.dirname(path.resolve(outPath));
  await makeDirs(dir);
  try {
    return await repairArchive(file, outPath);
  } catch (err) {
    await fsp.rmdir(dir).catch(() => undefined);
    throw err;
  }
}
