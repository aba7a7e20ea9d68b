/**
 * The manifest of a remote copy whose first bytes are damaged. A listing reads
 * a remote copy's manifest from a ranged GET; when that fails its checks, the
 * copy is not given up: like a local copy, it is fetched whole and repaired
 * with its own PAR2 data, and its manifest read from the repaired bytes, so
 * that it can be planned from and restored (the restore repairs it again
 * before use). Both files are scratch files beside the archive directory,
 * removed before this returns.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Manifest } from '../../format/manifest.js';
import { readManifest } from '../package/reader.js';
import { repairArchive } from '../package/recovery.js';
import { existingDir, scratchPath, sweepScratch } from '../package/scratch.js';
import type { RemoteSource } from './sources.js';

/** Throws (ARCHIVE_CORRUPTED, REMOTE_ERROR...) when the copy cannot be fetched or repaired. */
export async function manifestOfDamagedCopy(remote: RemoteSource, key: string, archiveDir: string): Promise<Manifest> {
  // The archive directory may not exist yet (a restore into an empty place): beside it, then.
  const dir = await existingDir(archiveDir);
  await sweepScratch(dir);
  const name = path.basename(key);
  const copy = scratchPath(dir, `download-${name}-from-${remote.name}`);
  const fixed = scratchPath(dir, `repaired-${name}`);
  try {
    await pipeline(await remote.store.get(key), fs.createWriteStream(copy, { mode: 0o600 }));
    const r = await repairArchive(copy, fixed);
    return await readManifest(r.repaired ? fixed : copy);
  } finally {
    await fsp.rm(copy, { force: true });
    await fsp.rm(fixed, { force: true });
  }
}
