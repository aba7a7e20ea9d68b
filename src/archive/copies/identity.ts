/**
 * A copy counts as another copy only at another location, told by identity,
 * never by name: a remote whose objects are, through a link, the archive
 * directory's own files (or another remote's) would otherwise make the one
 * file count twice, and WAL cleanup or pruning would act on a copy that is not there.
 */
import * as fsp from 'node:fs/promises';
import { fileIdentity } from '../../remote/index.js';
import { LOCAL_SOURCE, type ArchiveSources, type RemoteSource } from './sources.js';

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
