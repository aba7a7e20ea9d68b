/**
 * The archive's snapshot member, staged for the package, and the end state a sealed archive's seed
 * is made of (create.ts's parts that depend on where the starting state came from).
 */
import * as path from 'node:path';
import { ErrorCodes, isBriError } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { SNAPSHOT_MEMBER } from '../../format/manifest.js';
import type { DbState } from '../../format/state.js';
import { recover, isColdValueUnknown } from '../../store/recovery.js';
import { compressOffThread } from '../package/compress-worker.js';
import type { AgeRecipients } from '../crypto/age-keys.js';
import { compressSealed } from './encrypt-member.js';
import { encodedPieces } from './seeds.js';
import type { StartState } from './start-state.js';

async function* toAsync<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** The snapshot member, staged: a sealed seed as it is, else the start state compressed (and encrypted when the archive is). */
export async function stageSnapshot(start: StartState, stageDir: string, level: number, workers: number, encryptTo: AgeRecipients | undefined) {
  // A sealed seed (for these recipients), or a plain one at this level (the archive is not sealed): taken as it is.
  const asIs = start.sealedMember ?? (encryptTo ? undefined : start.seedMember);
  if (asIs) return { path: asIs.path, originalSize: asIs.originalSize, compressedSize: asIs.compressedSize, sha256: asIs.sha256, contentSha256: asIs.contentSha256 };
  // Staged members are copied into the package, which is fsynced whole: flushing them too only doubles the disk writes.
  const snapPath = path.join(stageDir, SNAPSHOT_MEMBER);
  // Encoded (or handed over as read) a piece at a time; zstd and both hashes on the worker.
  const source = start.snapshotBytes ? toAsync(start.snapshotBytes) : encodedPieces([start.snapshotText]);
  // A seed's chunks as read may share memory (transferred only when whole); encoded pieces are each their own.
  const owned = start.snapshotBytes ? true : 'whole';
  // Encrypted as it is compressed: the state never lies in the clear in the stage directory.
  const stagedPath = encryptTo ? `${snapPath}.age` : snapPath;
  const z = encryptTo ? await compressSealed(source, stagedPath, level, workers, encryptTo, { owned }) : await compressOffThread(source, stagedPath, level, workers, { sync: false, owned });
  return { path: stagedPath, originalSize: z.originalSize, compressedSize: z.compressedSize, sha256: z.sha256, contentSha256: z.contentSha256 };
}

/**
 * The state at the archive's end, from the data directory itself (its snapshot plus the WAL up to it): the next
 * seed, when the start was sealed. Null when the snapshot is past that line (an archive stopped before the seal).
 */
export async function endStateOfDir(dataDir: string, key: EncryptionKey | undefined, endLocalLine: number): Promise<DbState | null> {
  try {
    const rec = await recover(dataDir, { ...(key ? { encryptionKey: key } : {}), untilLine: endLocalLine });
    return rec.snapshot !== null && rec.snapshot.walLine > endLocalLine ? null : rec.state;
  } catch (err) {
    // An encrypted directory without its key: the archive is still made, its seed from the replay when there is one.
    if (isBriError(err, ErrorCodes.ENCRYPTION_KEY_MISSING) || isBriError(err, ErrorCodes.DECRYPTION_FAILED)) return null;
    // A cold file written after the archive's end (an eviction since the seal): the directory cannot tell the state then, the replay can.
    if (isColdValueUnknown(err)) return null;
    throw err;
  }
}
