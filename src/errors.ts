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

  /** The design note's fields (its errors.js), read from details; undefined where this error has none. */
  get archiveId(): string | undefined {
    return typeof this.details.archiveId === 'string' ? this.details.archiveId : undefined;
  }

  get timestamp(): number | undefined {
    return typeof this.details.timestamp === 'number' ? this.details.timestamp : undefined;
  }

  /** TIMESTAMP_NOT_FOUND: the time ranges that can be restored ({ start, end } each). */
  get availableRange(): unknown {
    return this.code === ErrorCodes.TIMESTAMP_NOT_FOUND ? this.details.available : undefined;
  }

  /** ARCHIVE_CORRUPTED: what verification found wrong. */
  get checksumErrors(): unknown {
    return this.code === ErrorCodes.ARCHIVE_CORRUPTED ? this.details.problems : undefined;
  }
}

/**
 * The design note's error classes, for callers who catch by them: each is a BriError, and `instanceof` matches
 * every BriError of its codes, whichever part of the project threw it (they are all thrown as BriError).
 */
export class ArchiveError extends BriError {
  constructor(message: string, code: ErrorCode = ErrorCodes.ARCHIVE_ERROR, details: Record<string, unknown> = {}) {
    super(code, message, { details });
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return isBriError(v);
  }
}

export class ArchiveNotFoundError extends ArchiveError {
  constructor(archiveId: string) {
    super(`Archive not found: ${archiveId}`, ErrorCodes.ARCHIVE_NOT_FOUND, { archiveId });
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return isBriError(v, ErrorCodes.ARCHIVE_NOT_FOUND);
  }
}

export class ArchiveCorruptedError extends ArchiveError {
  constructor(archiveId: string, checksumErrors: unknown[] = []) {
    super(`Archive corrupted: ${archiveId}`, ErrorCodes.ARCHIVE_CORRUPTED, { archiveId, problems: checksumErrors });
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return isBriError(v, ErrorCodes.ARCHIVE_CORRUPTED);
  }
}

/** A restore's failure: RESTORE_ERROR, and TIMESTAMP_NOT_FOUND (PointInTimeError is one, as in the note). */
export class RestoreError extends ArchiveError {
  constructor(message: string, code: ErrorCode = ErrorCodes.RESTORE_ERROR, details: Record<string, unknown> = {}) {
    super(message, code, details);
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return isBriError(v, ErrorCodes.RESTORE_ERROR) || isBriError(v, ErrorCodes.TIMESTAMP_NOT_FOUND);
  }
}

export class PointInTimeError extends RestoreError {
  constructor(timestamp: number, availableRange: unknown) {
    super(`Timestamp ${new Date(timestamp).toISOString()} not available in archives`, ErrorCodes.TIMESTAMP_NOT_FOUND, { timestamp, available: availableRange });
  }

  static override [Symbol.hasInstance](v: unknown): boolean {
    return isBriError(v, ErrorCodes.TIMESTAMP_NOT_FOUND);
  }
}

/** The one check callers use: is this a BriError, optionally of a given code. */
export function isBriError(err: unknown, code?: ErrorCode): err is BriError {
  return err instanceof BriError && (code === undefined || err.code === code);
}

/** What a person can do about a failed system call, by errno. */
const IO_HINTS: Record<string, (where: string) => string> = {
  ENOSPC: (w) => `The disk (or quota) holding ${w} is full: free space there and run it again; nothing half-written was kept.`,
  EDQUOT: (w) => `The disk quota for ${w} is used up: free space there and run it again; nothing half-written was kept.`,
  EACCES: (w) => `No permission for ${w}: check its owner and mode (and its directory's).`,
  EPERM: (w) => `The system refused the operation on ${w}: check its owner, mode and attributes.`,
  ENOENT: (w) => `${w} does not exist: check the path (the directory it goes in must exist).`,
  EISDIR: (w) => `${w} is a directory where a file was expected: give a file's path.`,
  ENOTDIR: (w) => `a part of ${w} is a file where a directory was expected: check the path.`,
  EROFS: (w) => `${w} is on a read-only file system: use a writable place.`,
  EIO: (w) => `The device holding ${w} reported an I/O error: check the disk (dmesg), then run it again.`,
  EMFILE: () => 'Too many open files: raise the limit (ulimit -n) and run it again.',
  ENFILE: () => 'The system is out of file handles: close other programs and run it again.',
  EEXIST: (w) => `${w} already exists.`,
  EXDEV: (w) => `${w} is on another file system than the directory beside it.`,
  EFBIG: (w) => `${w} grew past the largest file this process may write (ulimit -f) or its file system takes: raise the limit, or use a file system that takes larger files; nothing half-written was kept.`,
  ENAMETOOLONG: (w) => `${w} (or a file bri makes under it) is longer than the file system takes (4096 bytes a path, 255 a name): use a shorter path for the data directory, the archive directory (archive.localDir, --archive-dir) or the target.`,
  ELOOP: (w) => `${w} is, or goes through, a symbolic link where bri makes its own files (or links loop): remove the link (never what it names), then run it again.`,
  EBUSY: (w) => `${w} is in use by the system (a mount point, or a file another program holds): unmount it or stop that program, or use another path.`,
};

/** Errnos that are the destination's doing in a two-path call (copyfile, rename, link): err.path is the source there (EBUSY: either side may be the mount point, both are named). */
const DEST_SIDE = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EEXIST', 'EISDIR', 'EXDEV']);

/** The errno code of a system call's failure, when it is one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** Errnos that say the path given is wrong (nothing there, a directory): the caller's to fix, not the host's. */
const WRONG_PATH = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * A failed system call (raw, or as an IO_ERROR) by which the host kept a right path from being read or
 * written: a permission, too many open files, a disk error. It says nothing of the file's bytes: never "damaged".
 */
export function isHostFault(err: unknown): boolean {
  const errno = err instanceof BriError ? (err.code === ErrorCodes.IO_ERROR ? err.details.errno : undefined) : errnoOf(err);
  return typeof errno === 'string' && !WRONG_PATH.has(errno);
}

/**
 * The path a failed system call is about: a two-path call's destination (err.dest) when the errno is the
 * destination's (a full disk, a read-only one); else the call's own path; else `where`, the file the
 * caller was writing (a write() error carries no path). Permission and missing-path errors of a two-path
 * call name both, since either side may be the cause.
 */
function faultPath(err: unknown, where?: string): string | undefined {
  const e = err as NodeJS.ErrnoException & { dest?: unknown } | null;
  const own = typeof e?.path === 'string' ? e.path : undefined;
  const dest = typeof e?.dest === 'string' ? e.dest : undefined;
  if (dest === undefined) return own ?? where;
  if (DEST_SIDE.has(errnoOf(err) ?? '')) return dest;
  return own !== undefined ? `${dest} (or ${own})` : dest;
}

/**
 * A path (or any word) as it must be typed in a shell command a hint suggests: as it is when it holds only
 * characters no shell reads specially, else single-quoted (a space, a `$(...)`, a quote in a legal directory
 * name would split the pasted command or run something).
 */
export function shellArg(word: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}

/**
 * What to do about a failed system call (a full disk, a permission, a missing folder), when it is one.
 * `where`: the path the caller was working on, said when the error names none (a failed write()).
 */
export function ioHint(err: unknown, where?: string): string | undefined {
  const errno = errnoOf(err);
  return errno !== undefined ? IO_HINTS[errno]?.(faultPath(err, where) ?? 'the path') : undefined;
}

/**
 * Wraps a failure from the file system into an IO_ERROR that names the errno and the path and
 * says what to do (a full disk, a permission, a missing folder), keeping BriErrors as they are.
 * `where`: the path the caller was working on, for an error that names none (a failed write()).
 */
export function asBriError(err: unknown, context: string, where?: string): BriError {
  if (err instanceof BriError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const errno = errnoOf(err);
  const hint = ioHint(err, where);
  const e = err as NodeJS.ErrnoException & { dest?: unknown } | null;
  const at = typeof e?.path === 'string' ? e.path : where;
  return new BriError(ErrorCodes.IO_ERROR, `${context}: ${message}`, {
    ...(hint ? { hint } : {}),
    details: { ...(errno ? { errno } : {}), ...(at ? { path: at } : {}), ...(typeof e?.dest === 'string' ? { dest: e.dest } : {}), ...(e?.syscall ? { syscall: e.syscall } : {}) },
    cause: err,
  });
}

/** A failed system call (anything with an errno) as a typed IO_ERROR; any other error as it is (a bug stays visible as one). */
export function typedIoError(err: unknown, context: string, where?: string): unknown {
  return err instanceof BriError || errnoOf(err) === undefined ? err : asBriError(err, context, where);
}

/**
 * Makes the named async methods of a class answer a failed system call (ENOSPC, EACCES, ENOENT,
 * EISDIR, ...) as a typed IO_ERROR naming the operation, for API callers as for the CLI: one place,
 * so that no public operation lets a raw errno error (or a stack trace) reach its caller.
 */
export function withTypedIoErrors(proto: object, names: readonly string[], prefix: string): void {
  const methods = proto as Record<string, (...args: unknown[]) => unknown>;
  for (const name of names) {
    const original = methods[name];
    if (typeof original !== 'function') throw new Error(`withTypedIoErrors: no method ${name}`);
    methods[name] = function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(typedIoError(err, `${prefix} ${name}`))) : result;
    };
  }
}

/**
 * An API call's options, checked for keys it does not take: a misspelt `dryRun` must never make a dry
 * run real (nor a misspelt `targetDir` a restore in place). USAGE naming the key and the known ones.
 */
export function assertKnownOptions(opts: unknown, known: readonly string[], call: string): void {
  if (opts === undefined || opts === null || typeof opts !== 'object') return;
  const unknown = Object.keys(opts).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new BriError(ErrorCodes.USAGE, `${call}: unknown option(s) ${unknown.map((k) => `'${k}'`).join(', ')}`, {
      hint: `It takes ${known.join(', ')}.`,
      details: { unknown },
    });
  }
  assertOptionTypes(opts as Record<string, unknown>, call);
}

/** Options that are switches (true or false) and callbacks, whichever call takes them. */
const SWITCH_OPTIONS = new Set(['dryRun', 'force', 'cleanExisting', 'verify', 'inPlace']);
const CALLBACK_OPTIONS = new Set(['onProgress', 'onUpload', 'onSourceProblem', 'onProblem']);

/**
 * A switch given as anything but true or false: `dryRun: 'false'` (a flag read from the environment) ran the dry
 * run while the result said it ran for real; a callback that is not a function failed only once called.
 */
function assertOptionTypes(opts: Record<string, unknown>, call: string): void {
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    const want = SWITCH_OPTIONS.has(key) ? 'boolean' : CALLBACK_OPTIONS.has(key) ? 'function' : null;
    if (want === null || typeof value === want) continue;
    const shown = typeof value === 'string' ? `'${value.slice(0, 40)}'` : value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
    throw new BriError(ErrorCodes.USAGE, `${call}: ${key} is ${shown}, not ${want === 'boolean' ? 'true or false' : 'a function'}`, {
      hint: want === 'boolean' ? `Give ${key} as true or false (a string such as 'false' is not false), or leave it out.` : `Give ${key} as a function, or leave it out.`,
      details: { option: key },
    });
  }
}

/*
 * The API's arguments as a plain-JavaScript caller may pass them: `get(undefined)`, `list(null)`, `read('A')`
 * without its `{ at }` were untyped TypeErrors from deep inside (`reading 'includes'`). Each method's arguments
 * are checked against a short rule before it runs: USAGE naming the method and the argument.
 */

/** An id or file name (a non-empty string), a document key (any string), an options object, or one that may be left out. */
export type ArgumentRule = 'id' | 'id?' | 'key' | 'options' | 'options?' | 'any';

const RULE_TEXT: Record<ArgumentRule, string> = {
  id: 'a non-empty string',
  'id?': 'a non-empty string or nothing',
  key: 'a string',
  options: 'an options object',
  'options?': 'an options object or nothing',
  any: 'anything',
};

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return v === '' ? 'an empty string' : typeof v;
}

function fits(rule: ArgumentRule, v: unknown): boolean {
  switch (rule) {
    case 'id':
      return typeof v === 'string' && v !== '';
    case 'id?':
      return v === undefined || (typeof v === 'string' && v !== '');
    case 'key':
      return typeof v === 'string';
    case 'options':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'options?':
      return v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
    case 'any':
      return true;
  }
}

/**
 * Wraps each named method of `proto` (own or inherited) so that arguments breaking its rules reject with USAGE,
 * and an options argument holding a key not in `optionKeys[name]` too: a misspelt `source` must never make a
 * delete of one copy a delete of every copy. An async method's own synchronous throw becomes its rejection.
 */
export function withCheckedArguments(proto: object, rules: Record<string, readonly ArgumentRule[]>, prefix: string, optionKeys: Record<string, readonly string[]> = {}): void {
  const target = proto as Record<string, unknown>;
  for (const [name, argRules] of Object.entries(rules)) {
    const original = target[name];
    if (typeof original !== 'function') throw new Error(`withCheckedArguments: ${prefix}.${name} is not a method`);
    const isAsync = original.constructor.name === 'AsyncFunction';
    const known = optionKeys[name];
    const optionsAt = argRules.findIndex((r) => r === 'options' || r === 'options?');
    target[name] = function (this: unknown, ...args: unknown[]): unknown {
      try {
        if (known !== undefined && optionsAt >= 0 && args[optionsAt] !== undefined) assertKnownOptions(args[optionsAt], known, `${prefix}.${name}`);
      } catch (err) {
        return Promise.reject(err);
      }
      const bad = argRules.findIndex((rule, i) => !fits(rule, args[i]));
      if (bad >= 0) {
        const call = `${prefix}.${name}`;
        return Promise.reject(
          new BriError(ErrorCodes.USAGE, `${call}: argument ${bad + 1} must be ${RULE_TEXT[argRules[bad]!]}, got ${kindOf(args[bad])}`, {
            hint: `Call ${call}(${argRules.map((r) => (r === 'id' || r === 'id?' ? r : r === 'key' ? 'key' : r === 'any' ? '...' : r === 'options' ? '{ ... }' : '{ ... }?')).join(', ')}) as the README shows.`,
            details: { call, argument: bad + 1 },
          }),
        );
      }
      if (isAsync) return (original as (...a: unknown[]) => unknown).apply(this, args);
      try {
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      } catch (err) {
        return Promise.reject(err);
      }
    };
  }
}
