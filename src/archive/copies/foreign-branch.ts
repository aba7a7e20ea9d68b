/**
 * Two directories archiving one instance to a shared remote: after a disaster recovery, the old
 * machine comes back (its disk was fine) and archives its own lines under the same instance, beside
 * the new machine's. Each chain then forks the other's on the remote, and a restore of the latest
 * state takes whichever branch was sealed last. Found before an archive is made: an archive of this
 * instance on a remote, made after this directory's newest one, that this directory did not make.
 */
import { BriError, ErrorCodes } from '../../errors.js';
import type { ArchiveState } from '../../store/archive-state.js';
import * as fsp from 'node:fs/promises';
import { ARCHIVE_EXTENSION } from '../package/ids.js';
import { readAllCopyRecords } from './records.js';
import { ARCHIVE_KEY_PREFIX, archiveIdFromKey, type ArchiveSources } from './sources.js';

export interface ForeignArchive {
  source: string;
  archiveId: string;
  lastLine: number | null;
}

/**
 * The first such archive, or null. Cheap: one listing per remote, and a HEAD only of an archive newer
 * than this directory's newest (archive ids sort by time), which a single writer never meets. A remote
 * that cannot be listed is passed over (its uploads say it).
 */
export async function foreignArchiveOfInstance(sources: ArchiveSources, archiveDir: string, state: ArchiveState): Promise<ForeignArchive | null> {
  const since = state.last?.archiveId;
  if (since === undefined || sources.remotes.length === 0) return null;
  // The archives this directory made: its files' names (no manifest read) and its copy records.
  const files = (await fsp.readdir(archiveDir).catch(() => [] as string[])).filter((n) => n.endsWith(ARCHIVE_EXTENSION)).map((n) => n.slice(0, -ARCHIVE_EXTENSION.length));
  const mine = new Set([...files, ...(await readAllCopyRecords(archiveDir)).keys()]);
  for (const remote of sources.remotes) {
    try {
      for await (const o of remote.store.list(ARCHIVE_KEY_PREFIX)) {
        const id = archiveIdFromKey(o.key);
        if (id === null || id <= since || mine.has(id)) continue;
        const meta = (await remote.store.head(o.key)).metadata;
        if (meta.instance_id !== state.instanceId) continue;
        const last = Number(meta.last_line);
        return { source: remote.name, archiveId: id, lastLine: Number.isFinite(last) ? last : null };
      }
    } catch {
      continue;
    }
  }
  return null;
}

export function foreignBranchError(f: ForeignArchive, instanceId: string): BriError {
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `another directory archives this instance (${instanceId}): ${f.source} holds ${f.archiveId}${f.lastLine !== null ? ` (through line ${f.lastLine})` : ''}, made after this directory's newest archive and not by it`, {
    hint: 'Two copies of one database write archives of one instance (an old machine back after a recovery?). Keep one: restore this directory from the remotes (`bri restore latest`), or archive it as a new instance (move bri-archive.json aside while it is stopped).',
    details: { source: f.source, archiveId: f.archiveId, instanceId },
  });
}
