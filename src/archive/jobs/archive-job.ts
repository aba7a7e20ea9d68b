/**
 * The archive job, what every trigger (and a create by hand) runs: create the
 * archive, upload it, remove the WAL it made safe (cleanupWal), prune what the
 * retention policy lets go. Each step's outcome is in the result; a step
 * after the archive exists never undoes it: its error is reported with it.
 */
import { BriError, ErrorCodes, isBriError } from '../../errors.js';
import type { CleanupResult } from '../../store/wal/wal-cleanup.js';
import type { CleanupStep } from '../../store/wal/wal-cleanup.js';
import { readArchiveState } from '../../store/archive-state.js';
import { listLocalArchives } from '../copies/local-catalog.js';
import type { CreatedArchive } from '../create/create.js';
import type { PruneReport } from './prune.js';
import type { CopyStatus } from '../copies/upload.js';
import type { TriggerReason } from './scheduler.js';
import type { Manifest } from '../../format/manifest.js';
import { assertStateMapsWal } from './cleanup-anchor.js';
import { safeArchivedLine, type CleanupStop, type SegmentRemover } from './wal-cleanup.js';

/** 'first-archive': shipping started on a database with no archive to continue (see ArchiveApi.startShipping). */
export type RunReason = TriggerReason | 'manual' | 'first-archive';
/** Every reason a run can give (events and results carry it; a caller's create takes one of them). */
export const RUN_REASONS: readonly RunReason[] = ['schedule', 'interval', 'walSize', 'walSegments', 'walEntries', 'manual', 'first-archive'];

/** What the WAL cleanup of a run did. */
export interface CleanupReport extends CleanupResult {
  /** Absolute line through which every line is archived and stored everywhere. */
  safeLine: number;
  /** Absolute line before the first line on disk before this cleanup (`bri data stats` counts lines from there). */
  firstLineOnDisk?: number;
  /** What stopped the safe line short of the newest archive's end (null: nothing did). */
  stoppedBy?: CleanupStop | null;
}

export interface ArchiveRunResult extends CreatedArchive {
  reason: RunReason;
  uploads: CopyStatus[];
  /** Absent when cleanupWal is off. */
  cleanup?: CleanupReport | { error: BriError };
  /** Absent when no retention policy is configured. */
  prune?: PruneReport | { error: BriError };
  /** afterArchive hook failures (the archive stands; onError was told). */
  hookErrors: string[];
}

/** Where the safe line is computed from: the local archives and the copy records. */
export interface CleanupContext {
  dataDir: string;
  archiveDir: string;
  /** Why the archive's lines may not leave yet (null: they may), naming the remote or copy that stops them. */
  notStoredEverywhere(archiveId: string): Promise<string | null>;
  /**
   * Every archive the sources hold (remotes too): asked only when the local ones leave a gap. An archive
   * fetched from a remote during a disaster recovery, or whose local copy keepLocal removed, is not local.
   */
  knownArchives?(): Promise<Manifest[]>;
  /** The line through which every remote holds every line by shipments (0: not shipping). */
  shippedEverywhere?(): Promise<number>;
  remove: SegmentRemover;
  onStep?: (step: CleanupStep, item?: string) => void;
}

/** Removes the WAL segments that are archived and stored everywhere (the caller holds the right to change the directory). */
export async function cleanupArchivedWal(ctx: CleanupContext): Promise<CleanupReport> {
  const state = await readArchiveState(ctx.dataDir);
  if (!state) return { segments: [], lines: 0, snapshotLine: 0, safeLine: 0, stoppedBy: null };
  const local = (await listLocalArchives(ctx.archiveDir)).map((a) => a.manifest);
  const safeOf = (manifests: Manifest[]) => safeArchivedLine(manifests, state.instanceId, state.removedLines, (id) => ctx.notStoredEverywhere(id));
  let considered = local;
  let archived = await safeOf(local);
  // Listing the remotes costs a read of each manifest: only when the local archives alone leave lines uncovered.
  const uncovered = archived.stoppedBy?.kind === 'gap' || !local.some((m) => m.instanceId === state.instanceId);
  if (uncovered && ctx.knownArchives) archived = await safeOf((considered = [...local, ...(await ctx.knownArchives())]));
  // Shipped to every remote counts too: the next archive fetches those lines back from a remote.
  const shipped = (await ctx.shippedEverywhere?.()) ?? 0;
  const safeLine = Math.max(archived.line, shipped);
  const why = { firstLineOnDisk: state.removedLines, stoppedBy: shipped > archived.line ? null : archived.stoppedBy };
  const lines = safeLine - state.removedLines;
  // removedLines alone maps local lines to the archives' lines: one put back from an older copy would remove lines no
  // archive holds. Checked also when nothing is to go: a state written again by hand (removedLines 0) is told its value.
  await assertStateMapsWal(ctx.dataDir, state, considered, safeLine);
  if (lines <= 0) return { segments: [], lines: 0, snapshotLine: 0, safeLine, ...why };
  return { ...(await ctx.remove(lines, state.removedLines, ctx.onStep)), safeLine, ...why };
}

export function isNothingToArchive(err: unknown): err is BriError {
  return isBriError(err, ErrorCodes.NOTHING_TO_ARCHIVE);
}

/** Runs a step after the archive exists; its failure is reported, not thrown. */
export async function reported<T>(step: () => Promise<T>): Promise<T | { error: BriError }> {
  try {
    return await step();
  } catch (err) {
    return { error: isBriError(err) ? err : new BriError(ErrorCodes.ARCHIVE_ERROR, (err as Error).message, { cause: err }) };
  }
}

/** A copy that could not be uploaded, as onError is told it: REMOTE_ERROR naming the archive and the remote (the archive stays made). */
export function uploadFailure(u: CopyStatus): BriError {
  return new BriError(ErrorCodes.REMOTE_ERROR, `upload of ${u.archiveId} to ${u.source} failed: ${u.error?.message ?? 'no answer'}`, {
    hint: `The archive is kept locally and not counted as stored on ${u.source}: check that remote; the next create or \`bri archive upload\` tries again.`,
    details: { archiveId: u.archiveId, remote: u.source, ...(u.error ? { causeCode: u.error.code } : {}) },
    ...(u.error ? { cause: u.error } : {}),
  });
}

/** What failed in the steps after an archive (a failed upload, the cleanup, the pruning): each is told to onError, none undoes the archive. */
export function stepFailures(steps: Pick<ArchiveRunResult, 'uploads' | 'cleanup' | 'prune'>): BriError[] {
  return [
    ...steps.uploads.filter((u) => u.outcome === 'failed').map(uploadFailure),
    ...(steps.cleanup && 'error' in steps.cleanup ? [steps.cleanup.error] : []),
    ...(steps.prune && 'error' in steps.prune ? [steps.prune.error] : []),
  ];
}
