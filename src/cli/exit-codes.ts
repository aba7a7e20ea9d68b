/** The one place that maps errors, and answers that report failures, to exit codes (main.ts sets the one it gets). */
import { ErrorCodes, type ErrorCode } from '../errors.js';

export const EXIT_OK = 0;
/** The operation ran and failed (verification found damage, ...). */
export const EXIT_FAILURE = 1;
/** Bad usage: unknown command, bad option. */
export const EXIT_USAGE = 2;
/** `bri archive verify`: damaged, and `bri archive repair` gives the original file back (beyond repair is ARCHIVE_CORRUPTED's 21). */
export const EXIT_REPAIRABLE = 24;

/** A stable exit code per error class, so scripts can tell them apart. */
const BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.USAGE]: EXIT_USAGE,
  [ErrorCodes.CONFIG_INVALID]: EXIT_USAGE,
  [ErrorCodes.NOT_A_DATA_DIR]: 10,
  [ErrorCodes.LOCKED]: 11,
  [ErrorCodes.ENCRYPTION_KEY_MISSING]: 12,
  [ErrorCodes.DECRYPTION_FAILED]: 12,
  [ErrorCodes.SNAPSHOT_CORRUPTED]: 13,
  [ErrorCodes.WAL_CORRUPTED]: 13,
  [ErrorCodes.CHAIN_BROKEN]: 13,
  [ErrorCodes.ARCHIVE_NOT_FOUND]: 20,
  [ErrorCodes.ARCHIVE_CORRUPTED]: 21,
  [ErrorCodes.ARCHIVE_INVALID]: 22,
  [ErrorCodes.ARCHIVE_ERROR]: 23,
  [ErrorCodes.RESTORE_ERROR]: 30,
  [ErrorCodes.TIMESTAMP_NOT_FOUND]: 31,
  [ErrorCodes.REMOTE_NOT_FOUND]: 40,
  [ErrorCodes.REMOTE_ERROR]: 41,
  [ErrorCodes.HOOK_FAILED]: 50,
  [ErrorCodes.CANCELLED]: 130,
};

export function exitCodeFor(code: ErrorCode): number {
  return BY_CODE[code] ?? EXIT_FAILURE;
}

type UploadOutcome = { outcome: string; error?: { code: string } };

/**
 * Failed uploads exit with a remote error's code (41), unless none failed for the remote's sake: a local copy
 * found damaged before it was sent (ARCHIVE_CORRUPTED, 21) is the archive's failure, not the network's.
 */
function uploadFailureCode(uploads: UploadOutcome[]): number {
  const failed = uploads.filter((u) => u.outcome === 'failed');
  const archiveOnly = failed.length > 0 && failed.every((u) => u.error?.code === ErrorCodes.ARCHIVE_CORRUPTED);
  return exitCodeFor(archiveOnly ? ErrorCodes.ARCHIVE_CORRUPTED : ErrorCodes.REMOTE_ERROR);
}

/** What a command that ran exits with, from what its answer reports (an error thrown is exitCodeFor's). */
export const outcomeExitCode = {
  /** A failed upload's own code says more than a failed cleanup, prune or hook (1). */
  created(r: { uploads: UploadOutcome[]; cleanup?: object | null; prune?: object | null; hookErrors: string[] }): number {
    if (r.uploads.some((u) => u.outcome === 'failed')) return uploadFailureCode(r.uploads);
    return (r.cleanup && 'error' in r.cleanup) || (r.prune && 'error' in r.prune) || r.hookErrors.length ? EXIT_FAILURE : EXIT_OK;
  },
  uploads(uploads: UploadOutcome[]): number {
    return uploads.some((u) => u.outcome === 'failed') ? uploadFailureCode(uploads) : EXIT_OK;
  },
  /**
   * Repairable damage has its own code (also when the data is intact and only the recovery data is hurt), and so
   * has a bad copy of an archive whole on another source (`wholeOn`): the copy is replaced from it, nothing is lost.
   */
  archiveVerify(r: { ok: boolean; repairable: boolean; error: { code: string } | null; wholeOn?: string }): number {
    if (r.ok) return EXIT_OK;
    if (r.repairable || r.wholeOn !== undefined) return EXIT_REPAIRABLE;
    return r.error ? exitCodeFor(r.error.code as ErrorCode) : exitCodeFor(ErrorCodes.ARCHIVE_CORRUPTED);
  },
  /** Every archive: the first that is neither whole nor repairable says it; else a repairable one; else a source not listed (its error's code: 41 for a remote down, as prune, get and delete say it). */
  archiveVerifyAll(r: { ok: boolean; archives: Array<{ ok: boolean; report: { ok: boolean; repairable: boolean; error: { code: string } | null } | null; error: { code: string } | null; wholeOn?: string }>; unreachable?: Array<{ error: { code: string } }> }): number {
    if (r.ok) return EXIT_OK;
    const codes = r.archives.filter((v) => !v.ok).map((v) => (v.wholeOn !== undefined ? EXIT_REPAIRABLE : v.report ? outcomeExitCode.archiveVerify(v.report) : exitCodeFor(v.error!.code as ErrorCode)));
    const down = r.unreachable?.[0];
    return codes.find((c) => c !== EXIT_REPAIRABLE) ?? codes[0] ?? (down ? exitCodeFor(down.error.code as ErrorCode) : EXIT_FAILURE);
  },
  restoreVerify(r: { ok: boolean; repairable: boolean }): number {
    return r.ok ? EXIT_OK : r.repairable ? EXIT_REPAIRABLE : exitCodeFor(ErrorCodes.ARCHIVE_CORRUPTED);
  },
  /** Figures that leave out an archive that cannot be read are not the whole answer. */
  /** Nothing counted while a source could not be read is that source's failure, not "0 archives". */
  stats(s: { unreadable: unknown[]; archives?: number; unreachable?: Array<{ error: { code: string } }> }): number {
    const down = s.unreachable?.[0];
    if (down && s.archives === 0) return exitCodeFor(down.error.code as ErrorCode);
    return s.unreadable.length > 0 ? EXIT_FAILURE : EXIT_OK;
  },
  /** A failed deletion first; else a source not listed (its expired copies are still there): that source's error. */
  prune(r: { failed: Array<{ error: { code: string } }>; unreachable?: Array<{ error: { code: string } }> }): number {
    const first = r.failed[0] ?? r.unreachable?.[0];
    return first ? exitCodeFor(first.error.code as ErrorCode) : EXIT_OK;
  },
  thaw(statuses: Array<{ error?: unknown }>): number {
    return statuses.some((s) => s.error) ? EXIT_FAILURE : EXIT_OK;
  },
  /** The directory is restored, but a hook that failed is a failure to report (as for afterArchive). */
  restored(r: { hookErrors: string[] }): number {
    return r.hookErrors.length > 0 ? EXIT_FAILURE : EXIT_OK;
  },
  dataVerify(r: { ok: boolean }): number {
    return r.ok ? EXIT_OK : EXIT_FAILURE;
  },
};
