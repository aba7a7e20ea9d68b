/**
 * The option keys each public call of db.archive and db.restore takes, checked where the call enters
 * (withCheckedArguments): an unknown key is USAGE naming it. `db.archive.delete(id, { sorce: 'nas' })`
 * deleted every copy, the misspelt key dropped; only create, prune and the restores checked theirs.
 * Each list is typed against its call's options: the compiler says when the two part.
 */
import { assertKnownOptions, BriError, ErrorCodes } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import { resolveEncryptionKey } from '../store/store-config.js';
import type { ArchiveApi } from './archive-api.js';
import type { RestoreApi } from './restore-api.js';

type OptionsOf<F> = F extends (...args: infer A) => unknown ? NonNullable<Extract<A[number], object>> : never;
/** Every key of a call's options, once: missing or extra keys are compile errors. */
type KeyList<F> = { [K in keyof Required<OptionsOf<F>>]: true };

const keys = <F>(list: KeyList<F>): readonly string[] => Object.keys(list);

type A = ArchiveApi;
const SOURCE = { source: true } as const;
const IDENTITY = { identity: true, deep: true } as const;

export const ARCHIVE_OPTION_KEYS: Record<string, readonly string[]> = {
  upload: keys<A['upload']>({ archiveId: true, ...SOURCE, onUpload: true, onProgress: true }),
  list: keys<A['list']>(SOURCE),
  get: keys<A['get']>(SOURCE),
  stats: keys<A['stats']>(SOURCE),
  delete: keys<A['delete']>({ ...SOURCE, force: true }),
  download: keys<A['download']>({ ...SOURCE, verify: true, force: true, onProblem: true, onProgress: true }),
  verify: keys<A['verify']>({ ...SOURCE, onProgress: true, ...IDENTITY }),
  verifyAll: keys<A['verifyAll']>({ ...SOURCE, onProgress: true, onVerified: true, ...IDENTITY }),
  repair: keys<A['repair']>({ out: true, inPlace: true, force: true }),
  thaw: keys<A['thaw']>({ archiveId: true, all: true, ...SOURCE, days: true, tier: true, onStatus: true }),
  rekey: keys<A['rekey']>({ recipients: true, passphrase: true, identity: true, archiveId: true, ...SOURCE }),
  history: keys<A['history']>({ ...SOURCE, instanceId: true, identity: true, onSourceProblem: true, from: true, to: true }),
};

type R = RestoreApi;
const TIME_TRAVEL = { ...SOURCE, instanceId: true, identity: true, onSourceProblem: true } as const;

export const RESTORE_OPTION_KEYS: Record<string, readonly string[]> = {
  list: keys<R['list']>({ ...SOURCE, after: true, before: true }),
  verify: keys<R['verify']>({ ...SOURCE, ...IDENTITY }),
  history: keys<R['history']>({ ...TIME_TRAVEL, from: true, to: true }),
  read: keys<R['read']>({ ...TIME_TRAVEL, at: true }),
  diff: keys<R['diff']>({ ...TIME_TRAVEL, at: true, to: true }),
};

const OPEN_RESTORE_KEYS = ['dataDir', 'archiveDir', 'encryptionKey', 'key', 'repair', 'config', 'sources'];

/**
 * openRestore's options checked, and the data directory's key: `key` (the key's bytes), else `encryptionKey`
 * (64 hex chars, as createDB's), else $BRI_ENCRYPTION_KEY, as createDB and the CLI read it. It read `key` alone:
 * the variable and `encryptionKey` (which its own hint named) were ignored, and a hex string as `key` was taken
 * for bytes (a chain "that does not start" instead of the key's error).
 */
export function openRestoreKey(opts: { key?: unknown; encryptionKey?: unknown }): EncryptionKey | undefined {
  assertKnownOptions(opts, OPEN_RESTORE_KEYS, 'openRestore');
  if (opts.key !== undefined && !(Buffer.isBuffer(opts.key) && opts.key.length === 32)) {
    throw new BriError(ErrorCodes.USAGE, 'openRestore: key must be the key\'s 32 bytes (a Buffer)', { hint: 'Pass the 64 hex chars as encryptionKey (or set BRI_ENCRYPTION_KEY).' });
  }
  if (opts.encryptionKey !== undefined && typeof opts.encryptionKey !== 'string') {
    throw new BriError(ErrorCodes.USAGE, 'openRestore: encryptionKey must be 64 hex chars', { hint: 'Pass the key as BRI was configured with it (or set BRI_ENCRYPTION_KEY).' });
  }
  return (opts.key as EncryptionKey | undefined) ?? resolveEncryptionKey(opts.encryptionKey as string | undefined);
}
