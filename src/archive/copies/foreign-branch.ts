/**
 * Two directories archiving one instance to a shared remote: after a disaster recovery, the old
 * machine comes back (its disk was fine) and archives its own lines under the same instance, beside
 * the new machine's. Each chain then forks the other's on the remote, and a restore of the latest
 * state takes whichever branch was sealed last. Found before an archive is made: an archive of this
 * instance on a remote, made after this directory's newest one (or at all, before its first), that
 * this directory did not make. Two clones given one --new-instance-id are the same fork between two
 * databases: the first to archive keeps the id, the other is told its archives would mix with another
 * database's, and never to restore from them.
 */
import { BriError, ErrorCodes, shellArg } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import type { ArchiveState } from '../../store/archive-state.js';
import * as fsp from 'node:fs/promises';
import { ARCHIVE_EXTENSION } from '../package/ids.js';
import { readRemoteManifest } from './catalog.js';
import { readAllCopyRecords } from './records.js';
import { ARCHIVE_KEY_PREFIX, archiveIdFromKey, type ArchiveSources, type RemoteSource } from './sources.js';

export interface ForeignArchive {
  source: string;
  archiveId: string;
  lastLine: number | null;
  /** Whether this directory had made no archive of the instance yet. */
  beforeFirst: boolean;
  /** Whether the archive continues this directory's chain (a copy of the same database), as its manifest shows; false when unknown. */
  sameDatabase: boolean;
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

/** What the foreign archive's manifest tells of whose it is; one that cannot be read tells nothing (another database's, for the hint). */
async function sameDatabase(remote: RemoteSource, key: string, size: number, state: ArchiveState): Promise<boolean> {
  const m = await readRemoteManifest(remote, key, size).catch(() => null);
  return m !== null && continuesKnownLine(state, m);
}

/**
 * The first such archive, or null. Cheap: one listing per remote, and a HEAD only of an archive newer
 * than this directory's newest (archive ids sort by time), which a single writer never meets; before its
 * first archive, of every archive it did not make (once per instance). A remote that cannot be listed is
 * passed over (its uploads say it).
 */
export async function foreignArchiveOfInstance(sources: ArchiveSources, archiveDir: string, state: ArchiveState): Promise<ForeignArchive | null> {
  if (sources.remotes.length === 0) return null;
  // Before the first archive any archive of the instance is another directory's: two clones given one id, a copy made before either archived.
  const since = state.last?.archiveId ?? '';
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
        return { source: remote.name, archiveId: id, lastLine: Number.isFinite(last) ? last : null, beforeFirst: !state.last, sameDatabase: await sameDatabase(remote, o.key, o.size, state) };
      }
    } catch {
      continue;
    }
  }
  return null;
}

/** The way out when the other archives are not shown to be this database's: never a restore from them. */
const OWN_INSTANCE_HINT =
  'Archive this directory as an instance of its own: a clone, clone it again with another --new-instance-id; otherwise stop it, move bri-archive.json aside and archive again (it gets a new instance id). ' +
  'Do not restore it from these archives (`bri restore latest` would put the other directory\'s data in place of its own).';

export function foreignBranchError(f: ForeignArchive, instanceId: string): BriError {
  const when = f.beforeFirst ? 'and this directory has made no archive of it yet' : "made after this directory's newest archive and not by it";
  const whose = f.sameDatabase ? '' : '; it does not continue this directory\'s chain: another database\'s history under the same instance id (two clones given one --new-instance-id?)';
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `another directory archives this instance (${instanceId}): ${f.source} holds ${f.archiveId}${f.lastLine !== null ? ` (through line ${f.lastLine})` : ''}, ${when}${whose}`, {
    hint: f.sameDatabase
      ? `Two copies of one database write archives of one instance (an old machine back after a recovery?). To keep this directory's lines, archive it as a new instance: stop it, move bri-archive.json aside and archive again. ` +
        `Only if its lines since its newest archive are to be dropped, restore it from the remotes (\`bri restore latest\` puts the other directory's newest state in place of its own).`
      : OWN_INSTANCE_HINT,
    details: { source: f.source, archiveId: f.archiveId, instanceId, sameDatabase: f.sameDatabase },
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
      `(\`bri archive create -d ${shellArg(dataDir)} --archive-dir ${shellArg(ownArchiveDir)}\`); to drop this copy's changes, restore it from the archives (\`bri restore latest -d ${shellArg(dataDir)} -a ${shellArg(archiveDir)}\`) and archive only one of the two. ` +
      `If ${ownerDir} is no longer used (this directory replaces it), move it away: the archive directory then follows this one.`,
    details: { instanceId, archiveDir, owner: ownerDir, dataDir, ownArchiveDir },
  });
}
