/** The one place that maps errors to exit codes. */
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
