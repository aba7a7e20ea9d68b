/**
 * A copy counts as another copy only at another location, told by identity,
 * never by name: a remote whose objects are, through a link, the archive
 * directory's own files (or another remote's) would otherwise make the one
 * file count twice, and WAL cleanup or pruning would act on a copy that is not there.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileIdentity } from '../../remote/index.js';
import { archiveFileName } from '../package/ids.js';
import { isRecordedHere, readCopyRecord, recordedCopyProblem, removeCopyRecord } from './records.js';
import { archiveObjectKey, LOCAL_SOURCE, type ArchiveSources, type RemoteSource } from './sources.js';
import { checkLocalCopy } from './whole-copy.js';

async function localFileIdentity(file: string): Promise<string | null> {
  const st = await fsp.stat(file).catch(() => null);
  return st?.isFile() ? fileIdentity(st) : null;
}

/**
 * The source whose copy the object `key` on `remote` really is (`local` for the archive file
 * itself, or another remote's name), or null when it is a copy of its own (or the store cannot tell).
 */
export async function sameCopyAs(remote: RemoteSource, key: string, localFile: string | null, sources: ArchiveSources): Promise<string | null> {
  if (!remote.store.identify) return null;
  const mine = await remote.store.identify(key);
  if (mine === null) return null;
  if (localFile !== null && (await localFileIdentity(localFile)) === mine) return LOCAL_SOURCE;
  for (const other of sources.remotes) {
    if (other === remote || !other.store.identify) continue;
    if ((await other.store.identify(key).catch(() => null)) === mine) return other.name;
  }
  return null;
}

/**
 * True when the archive is durable and whole (read and hashed) in the local directory, and confirmed (size and checksum) on
 * every configured remote at a location of its own: only then may the WAL it holds leave the data directory.
 * The record alone is not enough: each remote is asked (a HEAD) whether the copy is still there and
 * the same (WAL cleanup asks only for the archives whose lines it is about to remove, one or two). A
 * record found false is removed, so that the next upload pass sends the archive again; a remote that
 * does not answer confirms nothing.
 */
export async function storedEverywhere(archiveDir: string, id: string, sources: ArchiveSources): Promise<boolean> {
  const file = path.join(archiveDir, archiveFileName(id));
  const st = await fsp.stat(file).catch(() => null);
  if (!st?.isFile()) return false;
  for (const r of sources.remotes) {
    const rec = await readCopyRecord(archiveDir, id, r.name);
    if (!rec || rec.size !== st.size || !isRecordedHere(rec, r)) return false;
    // A record says a copy was confirmed; only a copy at another location counts.
    if ((await sameCopyAs(r, archiveObjectKey(id), file, sources)) !== null) return false;
    const problem = await recordedCopyProblem(r.store, rec).catch(() => undefined);
    if (problem === undefined) return false;
    if (problem !== null) {
      await removeCopyRecord(archiveDir, id, r.name);
      return false;
    }
  }
  // Last, as it reads the file: its members must still be what the manifest says (a rotted copy holds nothing).
  const local = await checkLocalCopy(file, id).catch(() => null);
  return local !== null && local.problem === null;
}
