/** The PAR2 repairer that restore, download and listing use: a repaired copy in a scratch file, or null. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { repairArchive } from './recovery.js';
import { scratchPath, sweepScratch } from './scratch.js';

export interface RepairedCopy {
  file: string;
  damagedBlocks: number;
  repairedBlocks: number;
}

/** Repairs a damaged archive into a new file with its recovery data (in `workDir` when given); null when it cannot. */
export type ArchiveRepairer = (file: string, workDir?: string) => Promise<RepairedCopy | null>;

/**
 * Repairs `file` into a scratch file in `workDir` (where the copy is needed, e.g. beside the
 * restore target; default: beside the archive), never in the OS temp directory, so that what a
 * kill leaves is found and removed by the next run there. The caller removes the copy afterwards.
 * Null when the archive is intact or cannot be repaired.
 */
export async function par2Repairer(file: string, workDir?: string): Promise<RepairedCopy | null> {
  const dir = workDir ?? path.dirname(path.resolve(file));
  await sweepScratch(dir);
  const out = scratchPath(dir, `repaired-${path.basename(file)}`);
  try {
    const r = await repairArchive(file, out);
    return r.repaired ? { file: out, damagedBlocks: r.damagedBlocks, repairedBlocks: r.repairedBlocks } : null;
  } catch {
    await fsp.rm(out, { force: true });
    return null;
  }
}
