/**
 * What a restore reads its archives from, before it plans: the local archive
 * directory with its damaged archives repaired where PAR2 can, and the one
 * error for sources that hold something and nothing readable.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, isHostFault, shellArg } from '../../errors.js';
import { isRegularFile } from '../../store/files/regular-file.js';
import { isColdObject } from '../../remote/index.js';
import { scanArchiveDir, type LocalArchive } from '../copies/local-catalog.js';
import type { MergedListing } from '../copies/catalog.js';
import type { ArchiveRepairer } from '../package/repairer.js';
import { ARCHIVE_EXTENSION } from '../package/ids.js';
import { LOCAL_SOURCE } from '../copies/sources.js';
import { readManifest } from '../package/reader.js';

/** The local archives, including damaged ones whose manifest can be read after a PAR2 repair (the restore repairs them again before use). */
export async function repairedLocalListing(archiveDir: string, repair: ArchiveRepairer | undefined): Promise<{ archives: LocalArchive[]; unreadable: Array<{ file: string; error: BriError }> }> {
  const listing = await scanArchiveDir(archiveDir);
  const out = [...listing.archives];
  const unreadable: typeof listing.unreadable = [];
  for (const bad of listing.unreadable) {
    // A file the host keeps us from reading (a permission, too many open files) is no damage PAR2 could mend, nor is
    // a FIFO or a device at an archive's name (reading it would wait for ever).
    const fixed = repair && !isHostFault(bad.error) && (await isRegularFile(bad.file)) ? await repair(bad.file) : null;
    if (!fixed) {
      unreadable.push(bad);
      continue;
    }
    try {
      out.push({ file: bad.file, bytes: (await fsp.stat(bad.file)).size, manifest: await readManifest(fixed.file) });
    } finally {
      await fsp.rm(fixed.file, { force: true });
    }
  }
  return { archives: out, unreadable };
}

/**
 * Nothing readable, and something there that could not be read (or no source of `asked` could be listed at all):
 * the error that says so, not "no archives". A source that answered with nothing (a remote holding only shipped
 * WAL) leaves the planning to go on: null.
 */
export function noReadableArchive(merged: MergedListing, asked: number): BriError | null {
  if (merged.archives.length > 0 || (merged.unreadable.length === 0 && (merged.unreachable.length === 0 || merged.unreachable.length < asked))) return null;
  // Files whose bytes were never read (the host refused them) are not "damaged beyond repair": said as the host fault they are, with its hint.
  const refused = merged.unreadable.find((u) => isHostFault(u.error));
  if (refused) {
    return new BriError(ErrorCodes.IO_ERROR, `no readable archive: ${refused.location}: ${refused.error.message}`, {
      hint: refused.error.hint ?? `Check that ${refused.location} can be read by this user, then run it again.`,
      details: { ...refused.error.details, unreadable: merged.unreadable.map((u) => u.location), unreachable: merged.unreachable.map((u) => u.source) },
    });
  }
  const first = merged.unreadable[0] ?? merged.unreachable[0]!;
  const where = 'location' in first ? first.location : first.source;
  const cold = merged.unreadable.length > 0 && merged.unreadable.every((u) => isColdObject(u.error));
  return new BriError(merged.unreadable.length && !cold ? ErrorCodes.ARCHIVE_CORRUPTED : ErrorCodes.REMOTE_ERROR, `no readable archive: ${where}: ${first.error.message}`, {
    hint: cold
      ? 'The copies are in an archive tier: `bri archive thaw --all --source <name>` (or db.archive.thaw) asks for them back; restore once they are readable.'
      : merged.unreadable.length
        ? 'The archives there are damaged beyond repair; restore from another copy (another source).'
        : 'The sources could not be reached; check the network and the credentials, or use another source.',
    details: { unreadable: merged.unreadable.map((u) => u.location), unreachable: merged.unreachable.map((u) => u.source) },
  });
}

/**
 * A local archive file that could not be read, of an archive another source holds readable: not something
 * the restore missed (that copy was read instead), but a damaged local copy (or one the host keeps from being
 * read). Says so among the warnings, with how to mend it, and answers the listing without those files (the rest are said as unreadable).
 */
export function noteDamagedLocalCopies<L extends Pick<MergedListing, 'archives' | 'unreadable'>>(warnings: string[], listing: L, restoredFrom: { archiveId: string | null; source: string }): L {
  const readable = new Map(listing.archives.map((a) => [a.manifest.archiveId, a]));
  const named = (location: string) => (location.endsWith(ARCHIVE_EXTENSION) ? readable.get(path.basename(location, ARCHIVE_EXTENSION)) : undefined);
  const damaged = listing.unreadable.filter((u) => u.source === LOCAL_SOURCE && u.archiveId === undefined && named(u.location) !== undefined);
  for (const u of damaged) {
    const a = named(u.location)!;
    const id = a.manifest.archiveId;
    const good = id === restoredFrom.archiveId && restoredFrom.source !== LOCAL_SOURCE ? restoredFrom.source : a.copies.find((c) => c.source !== LOCAL_SOURCE)?.source ?? 'another source';
    const used = id === restoredFrom.archiveId ? `the copy on ${good} was restored from` : `its copy on ${good} is readable`;
    if (isHostFault(u.error)) {
      warnings.push(`the local copy of archive ${id}, ${u.location}, cannot be read (${u.error.code}: ${u.error.message}); ${used}${u.error.hint ? `: ${u.error.hint}` : ''}`);
      continue;
    }
    warnings.push(`the local copy of archive ${id}, ${u.location}, is damaged (${u.error.code}: ${u.error.message}); ${used}: mend the local copy with \`bri archive repair ${shellArg(u.location)} --in-place\` (its recovery data), or replace it with the good copy: \`bri archive download ${id} ${shellArg(u.location)} --force\``);
  }
  return { ...listing, unreadable: listing.unreadable.filter((u) => !damaged.includes(u)) };
}

