/**
 * The `archive` block of the configuration (createDB's storeConfig.archive,
 * or the JSON file of `bri --config`), validated once at startup: an unknown
 * key, a wrong type or a bad remote is a CONFIG_INVALID naming the key, and
 * values are never echoed (they may be secrets).
 */
import { z } from 'zod';
import { BriError, ErrorCodes, isBriError } from '../errors.js';
import { parseRemoteConfig, type RemoteConfig } from '../remote/registry.js';

const compression = z.strictObject({
  level: z.number().int().min(1).max(22).optional(),
  workers: z.number().int().min(0).max(64).optional(),
});

const errorCorrection = z.strictObject({
  enabled: z.boolean().optional(),
  redundancy: z.number().gt(0).max(1).optional(),
});

const sourceName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { message: 'must be a source name (local, or a remote name or provider)' });

const schema = z.strictObject({
  /** Where archives are kept (default `<dataDir>/archives`). */
  localDir: z.string().min(1).optional(),
  compression: compression.optional(),
  errorCorrection: errorCorrection.optional(),
  /** One remote (validated by the remote registry). */
  remote: z.unknown().optional(),
  /** Several remotes: every archive goes to each. */
  remotes: z.array(z.unknown()).optional(),
  /** Where restore and download look, in priority order (names or providers; default: local, then the remotes in order). */
  restoreSources: z.array(sourceName).min(1).optional(),
});

type Parsed = z.infer<typeof schema>;

/** The archive configuration after validation; `remotes` holds `remote` and `remotes` together. */
export interface ArchiveConfig {
  localDir?: string;
  compression?: { level?: number; workers?: number };
  errorCorrection?: { enabled?: boolean; redundancy?: number };
  remote?: unknown;
  remotes?: unknown[];
  restoreSources?: string[];
}

export interface ParsedArchiveConfig extends Omit<Parsed, 'remote' | 'remotes'> {
  remotes: RemoteConfig[];
}

function configError(key: string, message: string): BriError {
  return new BriError(ErrorCodes.CONFIG_INVALID, `archive.${key}: ${message}`, {
    hint: 'fix the archive configuration (see the README section on configuration)',
    details: { key },
  });
}

/** Validates the archive block. Throws CONFIG_INVALID naming the key (`archive.remotes[1].s3.bucket: is required`). */
export function parseArchiveConfig(input: unknown): ParsedArchiveConfig {
  if (input === undefined || input === null) return { remotes: [] };
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const key = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') throw configError(key || '(root)', `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`);
    throw configError(key || '(root)', /received undefined/.test(issue.message) ? 'is required' : issue.message.replace(/^Invalid input: /, ''));
  }
  const { remote, remotes, ...rest } = r.data;
  const raw: Array<{ where: string; value: unknown }> = [
    ...(remote !== undefined ? [{ where: 'remote', value: remote }] : []),
    ...(remotes ?? []).map((value, i) => ({ where: `remotes[${i}]`, value })),
  ];
  const parsed = raw.map(({ where, value }) => {
    try {
      return parseRemoteConfig(value);
    } catch (err) {
      if (!isBriError(err, ErrorCodes.CONFIG_INVALID)) throw err;
      // The registry names keys from `remote.`; say which entry it was.
      throw new BriError(ErrorCodes.CONFIG_INVALID, `archive.${where}${err.message.replace(/^remote/, '')}`, { ...(err.hint ? { hint: err.hint } : {}), details: { ...err.details, entry: where } });
    }
  });
  return { ...rest, remotes: parsed };
}
