/** The PAR2 repairer that restore, download and listing use: a repaired copy in a temp file, or null. */
import * as os from 'node:os';
import * as path from 'node:path';
import { repairArchive } from './recovery.js';
import type { ArchiveRepairer } from './restore.js';

/** Repairs into a temp file with the archive's PAR2 data; the caller removes it afterwards. */
export const par2Repairer: ArchiveRepairer = async (file) => {
  const out = path.join(os.tmpdir(), `bri-repaired-${process.pid}-${Date.now()}-${path.basename(file)}`);
  try {
    const r = await repairArchive(file, out);
    return r.repaired ? { file: out, damagedBlocks: r.damagedBlocks, repairedBlocks: r.repairedBlocks } : null;
  } catch {
    await import('node:fs/promises').then((f) => f.rm(out, { force: true }));
    return null;
  }
};
