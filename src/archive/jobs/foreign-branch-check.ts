/**
 * The check for another directory archiving this instance to a shared remote (copies/foreign-branch.ts),
 * run beside the archive rather than before it: it lists every remote, and a remote that accepts the
 * connection and never answers held the local archive back for its whole retry budget (15 min with the
 * defaults), though the archive's place is on this disk first. What the check finds in time refuses the
 * create before anything is made; what it finds later refuses the uploads (the fork is made there).
 */
import { BriError } from '../../errors.js';
import type { ArchiveState } from '../../store/archive-state.js';
import { foreignArchiveOfInstance, foreignBranchError } from '../copies/foreign-branch.js';
import type { ArchiveSources } from '../copies/sources.js';

/** How long the archive waits for the remotes' listings: a remote that answers at all lists well within it. */
export const FOREIGN_CHECK_WAIT_MS = 2000;

/** Throws the check's finding, if any; `made` is the archive made meanwhile, said in the error (it is kept, not uploaded). */
export type LateForeignCheck = (made?: { archiveId: string; file: string }) => Promise<void>;

/** Starts the check; throws what it finds within `waitMs`, else answers the rest of it, for the uploads to await. */
export async function startForeignBranchCheck(sources: ArchiveSources, archiveDir: string, state: ArchiveState | null, waitMs = FOREIGN_CHECK_WAIT_MS): Promise<LateForeignCheck> {
  // A remote that cannot be listed is passed over, as foreignArchiveOfInstance does (its uploads say it).
  const check = state ? foreignArchiveOfInstance(sources, archiveDir, state).then((f) => (f ? foreignBranchError(f, state.instanceId) : null), () => null) : Promise.resolve(null);
  let timer: NodeJS.Timeout | undefined;
  const early = await Promise.race([check, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), waitMs)))]);
  clearTimeout(timer);
  if (early) throw early;
  return async (made) => {
    const found = await check;
    if (!found) return;
    if (!made) throw found;
    throw new BriError(found.code, `${found.message}; archive ${made.archiveId} was made here before the remotes' listings answered (${made.file}) and is not uploaded`, {
      ...(found.hint !== undefined ? { hint: found.hint } : {}),
      details: { ...found.details, madeHere: made.archiveId },
    });
  };
}
