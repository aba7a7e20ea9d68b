/** Reading and writing `snapshot.jss` on disk: tmp, fsync, rename, fsync of the directory. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotFile } from '../format/snapshot-file.js';
import { writeFileDurable } from './durable-fs.js';
import { SNAPSHOT_FILE } from './layout.js';

/** Loads the snapshot, or null when there is none. */
export async function readSnapshot(dataDir: string, key?: EncryptionKey): Promise<SnapshotFile | null> {
  const file = path.join(dataDir, SNAPSHOT_FILE);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new BriError(ErrorCodes.SNAPSHOT_CORRUPTED, `cannot read ${file}: ${(err as Error).message}`, {
      hint: 'Check the file permissions of the data directory.',
      details: { path: file },
      cause: err,
    });
  }
  return decodeSnapshot(text, key);
}

/** Writes the snapshot atomically, as BRI does (snapshot.jss.tmp then rename). */
export async function writeSnapshot(dataDir: string, snapshot: SnapshotFile, key?: EncryptionKey): Promise<void> {
  await writeFileDurable(path.join(dataDir, SNAPSHOT_FILE), encodeSnapshot(snapshot, key));
}
