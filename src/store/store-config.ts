/**
 * The store's options (createDB's storeConfig, BriStore.open's config), checked before the data
 * directory is touched: a value the store would misread (a snapshot version it cannot read back, a
 * size that never or always rotates, an fsync mode it takes for 'batched') or a key it does not know
 * (a typo that silently turns a setting off) is a CONFIG_INVALID naming the key. Values are never
 * echoed: the encryption key is one of them.
 */
import { z } from 'zod';
import { BriError, ErrorCodes } from '../errors.js';
import { parseEncryptionKey, type EncryptionKey } from '../format/encryption.js';
import type { SnapshotVersion } from '../format/snapshot-file.js';
import type { InvalidLinePolicy } from './recovery.js';
import type { FsyncMode } from './wal/wal-writer.js';

export interface StoreConfig {
  /** The data directory (created if missing unless createIfMissing is false). */
  dataDir: string;
  /** Rotate a segment before a line would push it past this size. Default 10 MiB, as BRI. */
  walSegmentSize?: number;
  /** 'always' (default): each write is acknowledged after fdatasync. 'batched': synced every batchIntervalMs. */
  fsyncMode?: FsyncMode;
  batchIntervalMs?: number;
  /** 64 hex chars; default $BRI_ENCRYPTION_KEY. With a key, new entries and snapshots are encrypted. */
  encryptionKey?: string;
  /** Snapshot format written (2, what BRI writes today, by default). */
  snapshotVersion?: SnapshotVersion;
  /** Take a snapshot on close(), as BRI's clean shutdown does. Default true. */
  snapshotOnClose?: boolean;
  /** Lines above the snapshot that do not parse: 'error' (default) or 'skip' as BRI does. */
  invalidLines?: InvalidLinePolicy;
  createIfMissing?: boolean;
  /**
   * BRI's limit on the memory its documents take (it evicts the coldest to cold/ past it). Taken so that BRI's
   * configuration opens as written; this store keeps every document in memory whatever it says (it reads
   * cold/ but never evicts to it), and createDB warns (BRI_MAX_MEMORY) when the snapshot alone is larger.
   */
  maxMemoryMB?: number;
}

const wholeNumber = (unit: string, dflt: string) => {
  const message = `must be a whole number of ${unit}, at least 1 (default ${dflt})`;
  return z.number({ message }).int({ message }).min(1, { message }).optional();
};
const flag = z.boolean({ message: 'must be true or false' }).optional();

/** One entry per StoreConfig key (`satisfies` keeps the two in step: a new option must be checked here). */
const shape = {
  dataDir: z.string({ message: 'must be a directory path' }).min(1, { message: 'must be a directory path' }),
  walSegmentSize: wholeNumber('bytes', '10485760, 10 MiB'),
  fsyncMode: z.enum(['always', 'batched'], { message: "must be 'always' (acknowledged after fdatasync) or 'batched'" }).optional(),
  // A timer holds at most 2^31-1 ms: beyond it Node fires at once, a sync loop of 1 ms.
  batchIntervalMs: z
    .number({ message: 'must be a whole number of milliseconds, at least 1 (default 100)' })
    .int({ message: 'must be a whole number of milliseconds, at least 1 (default 100)' })
    .min(1, { message: 'must be a whole number of milliseconds, at least 1 (default 100)' })
    .max(2 ** 31 - 1, { message: 'must be at most 2147483647 ms (about 24.8 days, the longest a timer holds)' })
    .optional(),
  encryptionKey: z
    .string({ message: 'must be a string of 64 hex characters (32 bytes)' })
    .refine((k) => k === '' || /^[0-9a-fA-F]{64}$/.test(k.trim()), { message: 'must be 64 hex characters (32 bytes)' })
    .optional(),
  snapshotVersion: z.union([z.literal(1), z.literal(2)], { message: 'must be 1 or 2, the snapshot formats BRI reads (default 2)' }).optional(),
  snapshotOnClose: flag,
  invalidLines: z.enum(['error', 'skip'], { message: "must be 'error' or 'skip'" }).optional(),
  createIfMissing: flag,
  maxMemoryMB: z.number({ message: 'must be a number of MiB greater than 0' }).positive({ message: 'must be a number of MiB greater than 0' }).finite({ message: 'must be a number of MiB greater than 0' }).optional(),
} satisfies Record<keyof StoreConfig, z.ZodType>;

export const STORE_CONFIG_KEYS: readonly string[] = Object.keys(shape);

function configError(key: string, message: string): BriError {
  return new BriError(ErrorCodes.CONFIG_INVALID, `storeConfig${key === '' ? '' : `.${key}`}: ${message}`, {
    hint: "Fix storeConfig (see the README's createDB section); nothing was written.",
    details: { key: key === '' ? 'storeConfig' : `storeConfig.${key}` },
  });
}

/**
 * Throws CONFIG_INVALID when `input` is not a valid StoreConfig: a wrong value names its key and what
 * it takes, an unknown key lists the known ones. `also` are keys a caller validates itself (createDB's `archive`).
 */
export function assertStoreConfig(input: unknown, also: readonly string[] = []): asserts input is StoreConfig {
  const schema = z
    .strictObject({ ...shape, ...Object.fromEntries(also.map((k) => [k, z.unknown().optional()])) })
    .superRefine((c, ctx) => {
      // 'always' syncs every write: an interval given with it is a setting that does nothing.
      if (c.batchIntervalMs !== undefined && c.fsyncMode !== 'batched') ctx.addIssue({ code: 'custom', path: ['batchIntervalMs'], message: "takes effect only with fsyncMode: 'batched'" });
    });
  const r = schema.safeParse(input);
  if (r.success) return;
  const issue = r.error.issues[0]!;
  const key = issue.path.map(String).join('.');
  if (issue.code !== 'unrecognized_keys') throw configError(key, issue.message);
  const known = [...STORE_CONFIG_KEYS, ...also].join(', ');
  throw configError(key, `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')} (the keys are ${known})`);
}

/** The data directory's key: the one given, else $BRI_ENCRYPTION_KEY (empty: none). */
export function resolveEncryptionKey(explicit: string | undefined): EncryptionKey | undefined {
  const hex = explicit ?? process.env.BRI_ENCRYPTION_KEY;
  return hex === undefined || hex === '' ? undefined : parseEncryptionKey(hex);
}
