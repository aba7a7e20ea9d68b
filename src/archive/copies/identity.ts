/**
 * A copy counts as another copy only at another location, told by identity,
 * never by name: a remote whose objects are, through a link, the archive
 * directory's own files (or another remote's) would otherwise make the one
 * file count twice, and WAL cleanup or pruning would act on a copy that is not there.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileIdentity } from '../../remote/index.js';
import { freshFile, makeDirs } from '../../store/durable-fs.js';
import { archiveFileName } from '../package/ids.js';
import { scratchPath } from '../package/scratch.js';
import { remotePlace } from './locations.js';
import { isRecordedHere, readCopyRecord, recordedCopyProblem, removeCopyRecord, writeCopyRecord } from './records.js';
import { archiveObjectKey, LOCAL_SOURCE, objectLocation, type ArchiveSources, type RemoteSource } from './sources.js';
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
 * Why not every line of the archive may leave the data directory yet (null: they may): it is durable and whole
 * (read and hashed) in the local directory with no remote configured, or confirmed (size and checksum) on every
 * configured remote at a location of its own, local copy or not (keepLocal removes the local copy once the
 * remotes confirmed it; an archive fetched from a remote during a disaster recovery never had one). The record
 * alone is not enough: each remote is asked (a HEAD) whether the copy is still there and the same (WAL cleanup
 * asks only for the archives whose lines it is about to remove, one or two). A record found false is removed,
 * so that the next upload pass sends the archive again; a remote that does not answer confirms nothing. The
 * reason names the remote (or the local copy) that stopped it.
 */
export async function notStoredEverywhere(archiveDir: string, id: string, sources: ArchiveSources): Promise<string | null> {
  const file = path.join(archiveDir, archiveFileName(id));
  const st = await fsp.stat(file).catch(() => null);
  const local = st?.isFile() ? file : null;
  if (local === null && !sources.remotes.length) return 'there is no local copy, and no remote is configured';
  let digest: Digest | null = null;
  const unrecorded: RemoteSource[] = [];
  for (const r of sources.remotes) {
    const rec = await readCopyRecord(archiveDir, id, r.name);
    if (!rec || !isRecordedHere(rec, r)) {
      if (local !== null) return `no copy on ${r.name} is confirmed (size and SHA-256) yet`;
      unrecorded.push(r);
      continue;
    }
    // Every copy is one archive: records that disagree (or disagree with the local file) confirm nothing.
    if (st?.isFile() ? rec.size !== st.size : digest !== null && (rec.size !== digest.size || rec.sha256 !== digest.sha256)) return `the copy confirmed on ${r.name} is not the same archive as the others`;
    digest ??= { size: rec.size, sha256: rec.sha256 };
    // A record says a copy was confirmed; only a copy at another location counts.
    // (undefined: the remote did not answer, down or unmounted.)
    const same = await sameCopyAs(r, archiveObjectKey(id), local, sources).catch(() => undefined);
    if (same !== null) return same === undefined ? `${r.name} did not answer whether its copy is still there` : `the copy on ${r.name} is the same file as ${same}'s: it is not another copy`;
    const problem = await recordedCopyProblem(r.store, rec).catch(() => undefined);
    if (problem === undefined) return `${r.name} did not answer whether its copy is still there`;
    if (problem !== null) {
      await removeCopyRecord(archiveDir, id, r.name);
      return `the copy on ${r.name} is no longer the one confirmed (${problem})`;
    }
  }
  if (local === null) return unrecorded.length === 0 ? null : confirmUnrecorded(archiveDir, id, unrecorded, digest, sources);
  // Last, as it reads the file: its members must still be what the manifest says (a rotted copy holds nothing).
  const checked = await checkLocalCopy(local, id).catch(() => null);
  return checked === null ? 'the local copy cannot be read' : checked.problem === null ? null : `the local copy is damaged (${checked.problem})`;
}

interface Digest {
  size: number;
  sha256: string;
}

/**
 * Confirms, as an upload does, the copies of an archive that no record vouches for and that has no local
 * copy (fetched from a remote during a disaster recovery): the archive's SHA-256 is the recorded one, else
 * one copy's, read whole and checked member by member against its manifest. Each remote's copy must then
 * have that size and SHA-256 (from its metadata, else read and hashed); each one that does gets its record,
 * so that the next cleanup asks a HEAD only.
 */
async function confirmUnrecorded(archiveDir: string, id: string, remotes: RemoteSource[], known: Digest | null, sources: ArchiveSources): Promise<string | null> {
  const key = archiveObjectKey(id);
  const digest = known ?? (await wholeRemoteDigest(archiveDir, id, remotes[0]!).catch(() => null));
  if (digest === null) return `the copy on ${remotes[0]!.name} could not be read whole and checked`;
  for (const r of remotes) {
    const same = await sameCopyAs(r, key, null, sources).catch(() => undefined);
    if (same !== null) return same === undefined ? `${r.name} did not answer whether its copy is still there` : `the copy on ${r.name} is the same file as ${same}'s: it is not another copy`;
    const head = await r.store.head(key).catch(() => null);
    if (head === null) return `no copy on ${r.name} (or it did not answer)`;
    if (head.size !== digest.size) return `the copy on ${r.name} is ${head.size} bytes, not ${digest.size}`;
    const sha256 = head.checksums.sha256 ?? (await objectDigest(r, key).catch(() => null))?.sha256;
    if (sha256 !== digest.sha256) return `the copy on ${r.name} does not have the archive's SHA-256`;
    const place = remotePlace(r.store.describe());
    await writeCopyRecord(archiveDir, { version: 1, archiveId: id, source: r.name, provider: r.config.provider, location: objectLocation(r, key), place, key, ...digest, checksum: { algorithm: 'sha256', value: digest.sha256 }, confirmedAt: new Date().toISOString() });
  }
  return null;
}

async function objectDigest(remote: RemoteSource, key: string): Promise<Digest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await remote.store.get(key)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** The size and SHA-256 of a remote copy downloaded beside the archives and read whole; null when it is not the archive. */
async function wholeRemoteDigest(archiveDir: string, id: string, remote: RemoteSource): Promise<Digest | null> {
  await makeDirs(archiveDir);
  const scratch = scratchPath(archiveDir, 'cleanup-check');
  try {
    await pipeline(await remote.store.get(archiveObjectKey(id)), (await freshFile(scratch, 0o600)).createWriteStream());
    const checked = await checkLocalCopy(scratch, id);
    return checked.problem === null ? { size: checked.size, sha256: checked.sha256 } : null;
  } finally {
    await fsp.rm(scratch, { force: true });
  }
}
