/**
 * One error type for every layer, with stable codes and a hint that says what
 * to do next. This module imports nothing so that every layer may throw.
 */

export const ErrorCodes = {
  /** Bad arguments or options given by the caller. */
  USAGE: 'USAGE',
  /** Configuration that fails validation. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** The directory is not a BRI data directory. */
  NOT_A_DATA_DIR: 'NOT_A_DATA_DIR',
  /** Another live process holds the data directory's lock. */
  LOCKED: 'LOCKED',
  /** The store was used after close(). */
  STORE_CLOSED: 'STORE_CLOSED',
  /** snapshot.jss cannot be read, decrypted or parsed. */
  SNAPSHOT_CORRUPTED: 'SNAPSHOT_CORRUPTED',
  /** A WAL segment holds lines that do not parse. */
  WAL_CORRUPTED: 'WAL_CORRUPTED',
  /** The WAL's hash chain is broken at a given line. */
  CHAIN_BROKEN: 'CHAIN_BROKEN',
  /** Encrypted data and no key to read it. */
  ENCRYPTION_KEY_MISSING: 'ENCRYPTION_KEY_MISSING',
  /** The key is wrong or the ciphertext was altered. */
  DECRYPTION_FAILED: 'DECRYPTION_FAILED',
  /** A JSS text that is not valid JSS. */
  JSS_INVALID: 'JSS_INVALID',
  /** No archive with that id or file. */
  ARCHIVE_NOT_FOUND: 'ARCHIVE_NOT_FOUND',
  /** An archive whose bytes are damaged (checksums, PAR2, chain). */
  ARCHIVE_CORRUPTED: 'ARCHIVE_CORRUPTED',
  /** An archive that is well formed bytes but not a valid package (members, manifest). */
  ARCHIVE_INVALID: 'ARCHIVE_INVALID',
  /** No new WAL line since the last archive. */
  NOTHING_TO_ARCHIVE: 'NOTHING_TO_ARCHIVE',
  /** Archiving could not proceed (chain gap, unreadable state...). */
  ARCHIVE_ERROR: 'ARCHIVE_ERROR',
  /** A restore could not be carried out. */
  RESTORE_ERROR: 'RESTORE_ERROR',
  /** No archive covers the requested point in time. */
  TIMESTAMP_NOT_FOUND: 'TIMESTAMP_NOT_FOUND',
  /** A remote object or container is missing. */
  REMOTE_NOT_FOUND: 'REMOTE_NOT_FOUND',
  /** A remote refused or failed an operation. */
  REMOTE_ERROR: 'REMOTE_ERROR',
  /** PAR2 data that cannot be parsed or used. */
  PAR2_INVALID: 'PAR2_INVALID',
  /** A hook (a function or a command) failed; a `before` hook failing stops the operation. */
  HOOK_FAILED: 'HOOK_FAILED',
  /** An operation was cancelled. */
  CANCELLED: 'CANCELLED',
  /** A file system operation failed unexpectedly. */
  IO_ERROR: 'IO_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface BriErrorOptions {
  /** What the user can do about it. */
  hint?: string;
  /** Structured context: paths, ids, line numbers. Never secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class BriError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: BriErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  override get name(): string {
    return 'BriError';
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

/** The one check callers use: is this a BriError, optionally of a given code. */
export function isBriError(err: unknown, code?: ErrorCode): err is BriError {
  return err instanceof BriError && (code === undefined || err.code === code);
}

/** Wraps an unknown failure from the file system into an IO_ERROR, keeping BriErrors as they are. */
export function asBriError(err: unknown, context: string): BriError {
  if (err instanceof BriError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new BriError(ErrorCodes.IO_ERROR, `${context}: ${message}`, { cause: err });
}
