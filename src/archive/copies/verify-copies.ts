/**
 * Verifying an archive's copies (`archive verify <id>`, `--all`). The copy a restore would take first is
 * verified (the local one, else the first remote's, as it is stored); when it fails, so are the next
 * sources' copies, in restore order, until one is whole. A failed copy is not the archive's last word: a
 * cron job must not hear "lost" (21) of an archive a restore takes whole from a later source, and the
 * person must hear which copy is bad and where the whole one is.
 */
import { isBriError } from '../../errors.js';
import type { VerifyOptions, VerifyReport } from '../package/verify.js';
import type { ArchiveCopy, CatalogArchive } from './catalog.js';
import { heldAs, verifyLocalCopy, verifyRemoteCopy } from './copy-ops.js';
import { LOCAL_SOURCE, type ArchiveSources } from './sources.js';

/** One copy of `verifyAll`: its report, or why it could not be verified. */
export interface VerifiedArchive {
  archiveId: string | null;
  source: string;
  /** The copy verified (a path, or a remote copy's location). */
  file: string | null;
  ok: boolean;
  report: VerifyReport | null;
  error: { code: string; message: string; hint?: string } | null;
  /** A failed copy whose archive a later source holds whole (that source): the copy is bad, the archive is not lost. */
  wholeOn?: string;
}

export interface VerifyAllReport {
  /** Every archive verified and found whole, every source listed. */
  ok: boolean;
  archives: VerifiedArchive[];
  /** Sources that could not be listed: their archives were not verified. */
  unreachable: Array<{ source: string; error: { code: string; message: string; hint?: string } }>;
}

/**
 * `verify(id)`: the first copy's report; when it failed and other copies were verified after it, its `source`,
 * those copies (`otherCopies`) and where the archive is whole (`wholeOn`, none: no copy is).
 */
export type VerifiedById = VerifyReport & { source?: string; otherCopies?: VerifiedArchive[]; wholeOn?: string };

export interface CopyCheck {
  sources: ArchiveSources;
  archiveDir: string;
  verify: VerifyOptions;
}

/** Verifies one copy of `entry` as it is stored, reported under its place; throws (a BriError) when it cannot be had. */
export async function verifyCopy(entry: CatalogArchive, copy: ArchiveCopy, check: CopyCheck): Promise<VerifyReport> {
  const id = entry.manifest.archiveId;
  if (copy.source === LOCAL_SOURCE) return heldAs(id, copy.file!, await verifyLocalCopy(copy.file!, { ...check.verify, name: copy.file! }));
  return verifyRemoteCopy(entry, { sources: check.sources, archiveDir: check.archiveDir, order: [copy.source], workDir: check.archiveDir }, check.verify);
}

/**
 * After `failed` (a copy of `entry` found not whole), the copies of the other sources of `order`, in that order,
 * verified until one is whole; each is told to `onVerified` as it is done. When one is whole, every failed copy
 * (`failed` too) is marked `wholeOn` it.
 */
export async function followFailed(entry: CatalogArchive, failed: VerifiedArchive, order: readonly string[], check: CopyCheck, onVerified?: (v: VerifiedArchive) => void): Promise<VerifiedArchive[]> {
  const later = order.filter((s) => s !== failed.source).flatMap((s) => entry.copies.filter((c) => c.source === s));
  const out: VerifiedArchive[] = [];
  for (const copy of later) {
    const v = await verifiedCopy(entry, copy, check);
    out.push(v);
    onVerified?.(v);
    if (!v.ok) continue;
    for (const f of [failed, ...out]) if (!f.ok) f.wholeOn = copy.source;
    break;
  }
  return out;
}

async function verifiedCopy(entry: CatalogArchive, copy: ArchiveCopy, check: CopyCheck): Promise<VerifiedArchive> {
  const archiveId = entry.manifest.archiveId;
  try {
    const report = await verifyCopy(entry, copy, check);
    return { archiveId, source: copy.source, file: report.file, ok: report.ok, report, error: null };
  } catch (err) {
    if (!isBriError(err)) throw err;
    return { archiveId, source: copy.source, file: copy.location, ok: false, report: null, error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } };
  }
}
