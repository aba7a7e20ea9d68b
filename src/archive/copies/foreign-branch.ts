/**
 * Two directories archiving one instance to a shared remote: after a disaster recovery, the old
 * machine comes back (its disk was fine) and archives its own lines under the same instance, beside
 * the new machine's. Each chain then forks the other's on the remote, and a restore of the latest
 * state takes whichever branch was sealed last. Found before an archive is made: an archive of this
 * instance on a remote, made after this directory's newest one, that this directory did not make.
 */
import { BriError, ErrorCodes } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
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
 * Whether `m` begins or ends on a line this directory's bri-archive.json knows (its last archive's end, the
 * line its instance began on), with the same pointer: a branch of this database's history, not another's.
 */
export function continuesKnownLine(state: Pick<ArchiveState, 'last' | 'origin'>, m: Manifest): boolean {
  const points = [...(state.last ? [{ line: state.last.endLine, pointer: state.last.lastPointer }] : []), ...(state.origin ? [state.origin] : [])];
  const { start, end } = m.timeRange.walLines;
  return points.some((p) => (p.line === start && start > 0 && p.pointer === m.chain.prevPointer) || (p.line === end && p.pointer === m.chain.lastPointer));
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

/**
 * A copy of a data directory (cp -a) archiving into the archive directory the original, still there and
 * archiving, owns: each would fork the other's chain of the one instance there, and its retention decide
 * on the other's archives. Told as a foreign branch is, before the copy adds one.
 */
export function copyOfOwnerError(instanceId: string, archiveDir: string, ownerDir: string, dataDir: string, ownArchiveDir: string): BriError {
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `another directory archives this instance (${instanceId}): ${ownerDir} makes its archives in ${archiveDir}, and ${dataDir} is a copy of it archiving the same instance there`, {
    hint:
      `Two copies of one database write archives of one instance (a copy made with cp?). Keep one: to keep this one as a database of its own, stop it, move bri-archive.json aside and archive it as a new instance in an archive directory of its own ` +
      `(\`bri archive create -d ${dataDir} --archive-dir ${ownArchiveDir}\`); to drop this copy's changes, restore it from the archives (\`bri restore latest -d ${dataDir} -a ${archiveDir}\`) and archive only one of the two. ` +
      `If ${ownerDir} is no longer used (this directory replaces it), move it away: the archive directory then follows this one.`,
    details: { instanceId, archiveDir, owner: ownerDir, dataDir, ownArchiveDir },
  });
}
