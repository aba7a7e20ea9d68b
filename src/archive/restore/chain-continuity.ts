/**
 * Whether the archives a restore or a time travel reads make one chain: each archive that starts on the
 * line its predecessor ends on must continue that one's last pointer (the check verify makes of neighbours).
 * An archive that does not (one spliced in from another database, its manifest patched to this one's ids)
 * holds another history: taking its snapshot or its lines would answer with another database's data.
 */
import { BriError, ErrorCodes } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { continuesArchive } from '../package/verify.js';

/** The archive of `m`'s instance that ends on the line `m` starts at, and whose chain `m` does not continue. */
function brokenLink(m: Manifest, all: Iterable<Manifest>): Manifest | undefined {
  for (const x of all) {
    if (x.instanceId !== m.instanceId || x.archiveId === m.archiveId) continue;
    if (x.timeRange.walLines.end === m.timeRange.walLines.start && !continuesArchive(x, m)) return x;
  }
  return undefined;
}

/**
 * Throws ARCHIVE_CORRUPTED naming both archives when one of `used` does not continue the archive before it
 * among `all` (the archives the sources hold; default: `used` themselves).
 */
export function assertArchivesContinue(used: Iterable<Manifest | null | undefined>, all?: ReadonlyArray<{ manifest: Manifest }>): void {
  const known = all?.map((a) => a.manifest);
  const list = [...used].filter((m): m is Manifest => m != null);
  for (const m of list) {
    const prev = brokenLink(m, known ?? list);
    if (prev === undefined) continue;
    throw new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `archive ${m.archiveId} does not continue archive ${prev.archiveId}: that one ends at pointer ${prev.chain.lastPointer}, this one continues ${m.chain.prevPointer} (another history, not this database's)`, {
      hint: `\`bri archive verify ${m.archiveId}\` says the same; restore from ${prev.archiveId} or an earlier archive, and replace ${m.archiveId} with a good copy.`,
      details: { archiveId: m.archiveId, previousArchiveId: prev.archiveId, lastPointer: prev.chain.lastPointer, prevPointer: m.chain.prevPointer },
    });
  }
}

/** The plan, once the archive it starts from is known to continue the one before it among `all` (else the error above). */
export function continuingPlan<P extends { archive: { manifest: Manifest } | null }>(plan: P, all: ReadonlyArray<{ manifest: Manifest }>): P {
  assertArchivesContinue([plan.archive?.manifest], all);
  return plan;
}
