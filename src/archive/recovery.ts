/**
 * PAR2 recovery data for whole archives. The PAR2 set protects every byte of
 * the package before the `recovery.par2` member (tar headers, manifest,
 * members, checksums), recorded as a file named `<archiveId>.tar`, so that
 * par2cmdline can rebuild it from a damaged archive too. Repair rebuilds that
 * prefix, then writes the recovery member again from it (PAR2 output is
 * deterministic), giving back the original file byte for byte.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { BriError, ErrorCodes } from '../errors.js';
import { RECOVERY_MEMBER, type Manifest } from '../format/manifest.js';
import { fsyncDir } from '../store/durable-fs.js';
import type { RecoveryWriter } from './create.js';
import { ARCHIVE_EXTENSION } from './ids.js';
import { chooseSliceLayout, createPar2, readPar2Set, repairPar2, verifyPar2, type Par2Set } from './par2/index.js';
import { readManifest } from './package-reader.js';

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
    async write(packagePath, prefixBytes, outPath, plan, name) {
      const r = await createPar2({ path: packagePath, offset: 0, length: prefixBytes, name }, outPath, {
        blockSize: plan.blockSize,
        recoveryBlockCount: plan.recoveryBlockCount,
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
      });
      return r.par2Bytes;
    },
  };
}

/** The name the PAR2 set gives the protected prefix of an archive. */
export function protectedName(archiveId: string): string {
  return `${archiveId}.tar`;
}

export interface Par2Status {
  /** Whether the archive carries readable PAR2 data. */
  present: boolean;
  intact: boolean;
  repairable: boolean;
  damagedBlocks: number;
  totalBlocks: number;
  recoveryBlocksAvailable: number;
}

async function findSet(file: string): Promise<Par2Set | null> {
  try {
    const set = await readPar2Set([file]);
    return set.files.length === 1 ? set : null;
  } catch {
    return null;
  }
}

/** Checks the archive's bytes against its PAR2 data (works even when the tar cannot be read). */
export async function par2Status(file: string): Promise<Par2Status> {
  const none: Par2Status = { present: false, intact: false, repairable: false, damagedBlocks: 0, totalBlocks: 0, recoveryBlocksAvailable: 0 };
  const set = await findSet(file);
  if (!set) return none;
  try {
    const v = await verifyPar2(set, { path: file, offset: 0, length: Math.min(set.files[0]!.length, (await fsp.stat(file)).size) });
    return { present: true, intact: v.intact, repairable: v.repairable, damagedBlocks: v.damagedBlocks.length, totalBlocks: v.totalBlocks, recoveryBlocksAvailable: v.recoveryBlocksAvailable };
  } catch {
    return none; // the recovery data itself is unusable (every copy of a critical packet damaged)
  }
}

/** Damage inside the recovery member itself: packets that fail their MD5, slices missing. */
export async function recoveryMemberDamage(file: string, offset: number, length: number, expectedSlices: number | null): Promise<string | null> {
  let set: Par2Set;
  try {
    set = await readPar2Set([{ path: file, offset, length }]);
  } catch (err) {
    return `recovery.par2 cannot be read: ${(err as Error).message}`;
  }
  if (set.damagedPackets > 0) return `recovery.par2: ${set.damagedPackets} damaged packets (bri archive repair writes it again)`;
  if (expectedSlices !== null && set.recoverySlices.length < expectedSlices) {
    return `recovery.par2: ${set.recoverySlices.length} of ${expectedSlices} recovery blocks readable (bri archive repair writes it again)`;
  }
  return null;
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
}

async function copyPrefix(file: string, length: number, out: string): Promise<{ repairedBlocks: number[] }> {
  await pipeline(fs.createReadStream(file, { start: 0, end: length - 1 }), fs.createWriteStream(out));
  return { repairedBlocks: [] };
}

/** The size the archive has when whole: the prefix, the recovery member's header and data, the tar's end. */
async function expectedSize(file: string, prefix: number): Promise<number> {
  const fh = await fsp.open(file, 'r');
  try {
    const header = Buffer.alloc(512);
    await fh.read(header, 0, 512, prefix);
    const size = parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
    return prefix + 512 + Math.ceil(size / 512) * 512 + 1024;
  } finally {
    await fh.close();
  }
}

/** Appends the recovery member and the end of the tar after a rebuilt prefix. */
async function appendRecoveryMember(prefixPath: string, manifest: Manifest, par2Path: string, par2Bytes: number): Promise<void> {
  const pack = tar.pack();
  const out = fs.createWriteStream(prefixPath, { flags: 'a' });
  const done = pipeline(pack as unknown as NodeJS.ReadableStream, out);
  await new Promise<void>((resolve, reject) => {
    const header = { name: RECOVERY_MEMBER, size: par2Bytes, mode: 0o644, mtime: manifest.createdAt, uid: 0, gid: 0, uname: '', gname: '', type: 'file' as const };
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    pipeline(fs.createReadStream(par2Path), sink as unknown as NodeJS.WritableStream).catch(reject);
  });
  pack.finalize();
  await done;
}

/**
 * Repairs a damaged archive with its PAR2 data into `outPath` (temp file, fsync, rename;
 * `outPath` may be `file` itself for an in-place repair). ARCHIVE_CORRUPTED with the counts
 * when the damage is beyond what the recovery data can rebuild.
 */
export async function repairArchive(file: string, outPath: string): Promise<RepairResult> {
  const set = await findSet(file);
  if (!set) {
    throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${file} holds no readable PAR2 recovery data`, {
      hint: 'The archive was made without error correction, or its recovery data is destroyed too; use another copy.',
      details: { file },
    });
  }
  const entry = set.files[0]!;
  const size = (await fsp.stat(file)).size;
  const target = { path: file, offset: 0, length: Math.min(entry.length, size) };
  const v = await verifyPar2(set, target);
  const archiveId = entry.name.endsWith('.tar') ? entry.name.slice(0, -4) : path.basename(file, ARCHIVE_EXTENSION);
  const expectedSlices = set.recoverySlices.length + (set.damagedPackets > 0 ? 1 : 0);
  if (v.intact && set.damagedPackets === 0 && size === (await expectedSize(file, entry.length))) {
    return { file, archiveId, damagedBlocks: 0, repairedBlocks: 0, recoveryBlocksAvailable: v.recoveryBlocksAvailable, repaired: false };
  }
  void expectedSlices;
  if (!v.repairable) {
    throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${file} is damaged beyond repair: ${v.damagedBlocks.length} damaged blocks, ${v.recoveryBlocksAvailable} recovery blocks available`, {
      hint: 'Use another copy of the archive (another source), or an earlier archive.',
      details: { damaged: v.damagedBlocks.length, available: v.recoveryBlocksAvailable, file },
    });
  }
  const dir = path.dirname(path.resolve(outPath));
  const tmp = path.join(dir, `.${path.basename(outPath)}.repair-${process.pid}`);
  const par2Tmp = `${tmp}.par2`;
  try {
    // An intact prefix is copied; a damaged one rebuilt. Either way the recovery member is written anew.
    const r = v.intact ? await copyPrefix(file, entry.length, tmp) : await repairPar2(set, target, tmp, { verified: v });
    // The rebuilt prefix holds an intact manifest: regenerate the recovery member exactly as at creation.
    const manifest = await readManifest(tmp);
    const ec = manifest.errorCorrection;
    const made = await createPar2({ path: tmp, offset: 0, length: entry.length, name: entry.name }, par2Tmp, {
      blockSize: set.blockSize,
      recoveryBlockCount: ec.recoveryBlockCount ?? set.recoverySlices.length,
    });
    await appendRecoveryMember(tmp, manifest, par2Tmp, made.par2Bytes);
    const fh = await fsp.open(tmp, 'r+');
    await fh.sync();
    await fh.close();
    await fsp.rename(tmp, outPath);
    await fsyncDir(dir);
    return { file: path.resolve(outPath), archiveId, damagedBlocks: v.damagedBlocks.length, repairedBlocks: r.repairedBlocks.length, recoveryBlocksAvailable: v.recoveryBlocksAvailable, repaired: true };
  } finally {
    await fsp.rm(tmp, { force: true });
    await fsp.rm(par2Tmp, { force: true });
  }
}
