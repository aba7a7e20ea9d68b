/**
 * From configuration to a store: one explicit table of providers (restic's
 * all.go), a validated config shape (a BriError CONFIG_INVALID naming the
 * offending key, never echoing values), and the retry wrapper on top.
 *
 * Creating a store loads no SDK: each provider imports its SDK on first use.
 */
import { z } from 'zod';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError } from '../errors.js';
import { createAzureRemote } from './azure.js';
import { createGcsRemote } from './gcs/gcs.js';
import { storeNames } from './keys.js';
import { createLocalRemote } from './local.js';
import type { LifecycleRule, ProviderName, RemoteStore } from './remote.js';
import { withRetry, type RetryOptions } from './retry.js';
import { createS3Remote } from './s3/s3.js';
import { MAX_TIMER_MS } from './timeouts.js';

const nonEmpty = z.string().min(1);
const positiveInt = z.number().int().positive();
/** A wait in ms that a timer can hold (MAX_TIMER_MS): every duration of the configuration is one. */
export const durationMs = (min: number) =>
  z.number().int().min(min).max(MAX_TIMER_MS, { message: `must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest wait a timer takes)` });
/** A provider lifecycle counts whole days; beyond 10000 years no provider takes it. */
const days = z.number().int().min(1).max(3_650_000);

/** An http(s) URL without user info (credentials never go in an endpoint). */
const endpoint = z
  .string()
  .min(1)
  .refine(
    (s) => {
      try {
        const u = new URL(s);
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
      } catch {
        return false;
      }
    },
    { message: 'must be an http(s) URL without user name or password' },
  );

const retry = z.union([
  z.literal(false),
  z.strictObject({
    maxAttempts: positiveInt.optional(),
    baseDelayMs: durationMs(0).optional(),
    maxDelayMs: durationMs(0).optional(),
  }),
]);

/** Per-remote network limits (timeouts.ts). */
const timeouts = z.strictObject({
  connectMs: durationMs(1).optional(),
  idleMs: durationMs(1).optional(),
});

const common = {
  /** The source's name in listings, `--source` and `restoreSources` (default: the provider's name, numbered when taken). */
  name: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}$/, { message: 'must be 1-32 lowercase letters, digits or hyphens, starting with a letter' })
    .optional(),
  /** Key prefix inside the bucket/container/directory. */
  prefix: z.string().optional(),
  /** Retry policy (default on: 5 attempts); false disables it. */
  retry: retry.optional(),
  /** Days after which archives move to the archive tier (applyLifecycle). */
  glacierAfterDays: days.optional(),
  /** Days after which archives are deleted by the provider (applyLifecycle). */
  retentionDays: days.optional(),
};

const bucketName = z
  .string()
  .min(3)
  .max(222)
  .regex(/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/, { message: 'must be lowercase letters, digits, dots, hyphens or underscores' });

const localSchema = z.strictObject({
  provider: z.literal('local'),
  ...common,
  path: nonEmpty,
});

const s3Schema = z.strictObject({
  provider: z.literal('s3'),
  ...common,
  bucket: bucketName,
  region: nonEmpty.optional(),
  endpoint: endpoint.optional(),
  forcePathStyle: z.boolean().optional(),
  storageClass: nonEmpty.optional(),
  credentials: z.strictObject({ accessKeyId: nonEmpty, secretAccessKey: nonEmpty, sessionToken: nonEmpty.optional() }).optional(),
  partSizeBytes: z.number().int().min(5 * 1024 * 1024).optional(),
  queueSize: positiveInt.optional(),
  multipartThresholdBytes: positiveInt.optional(),
  listPageSize: z.number().int().min(1).max(1000).optional(),
  sha256Checksums: z.boolean().optional(),
  lifecycleStorageClass: nonEmpty.optional(),
  sdkMaxAttempts: positiveInt.optional(),
  timeouts: timeouts.optional(),
});

const gcsSchema = z
  .strictObject({
    provider: z.literal('gcs'),
    ...common,
    bucket: bucketName,
    endpoint: endpoint.optional(),
    projectId: nonEmpty.optional(),
    credentials: z.strictObject({ client_email: nonEmpty, private_key: nonEmpty }).optional(),
    keyFilename: nonEmpty.optional(),
    storageClass: nonEmpty.optional(),
    resumableThresholdBytes: positiveInt.optional(),
    chunkSizeBytes: positiveInt.optional(),
    listPageSize: z.number().int().min(1).max(1000).optional(),
    lifecycleStorageClass: nonEmpty.optional(),
    sdkMaxRetries: z.number().int().min(0).optional(),
    downloadIdleTimeoutMs: durationMs(1).optional(),
    timeouts: timeouts.optional(),
  })
  .refine((c) => !(c.credentials !== undefined && c.keyFilename !== undefined), { message: 'give credentials or keyFilename, not both', path: ['credentials'] });

const azureSchema = z
  .strictObject({
    provider: z.literal('azure'),
    ...common,
    container: z
      .string()
      .min(3)
      .max(63)
      .regex(/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/, { message: 'must be lowercase letters, digits and single hyphens' }),
    connectionString: nonEmpty.optional(),
    accountName: z
      .string()
      .regex(/^[a-z0-9]{3,24}$/, { message: 'must be 3-24 lowercase letters or digits' })
      .optional(),
    accountKey: nonEmpty.optional(),
    sasToken: nonEmpty.optional(),
    endpoint: endpoint.optional(),
    accessTier: z.enum(['Hot', 'Cool', 'Cold', 'Archive']).optional(),
    blockSizeBytes: z.number().int().min(64 * 1024).optional(),
    concurrency: positiveInt.optional(),
    listPageSize: z.number().int().min(1).max(5000).optional(),
    sdkMaxTries: positiveInt.optional(),
    timeouts: timeouts.optional(),
  })
  .superRefine((c, ctx) => {
    const ways = [c.connectionString !== undefined, c.accountKey !== undefined, c.sasToken !== undefined].filter(Boolean).length;
    if (ways !== 1) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of connectionString, accountKey or sasToken', path: ['connectionString'] });
      return;
    }
    if (c.accountKey !== undefined && c.accountName === undefined) ctx.addIssue({ code: 'custom', message: 'accountKey needs accountName', path: ['accountName'] });
    if (c.sasToken !== undefined && c.accountName === undefined && c.endpoint === undefined) {
      ctx.addIssue({ code: 'custom', message: 'sasToken needs accountName or endpoint', path: ['accountName'] });
    }
  });

const schema = z.discriminatedUnion('provider', [localSchema, s3Schema, gcsSchema, azureSchema]);

export type LocalRemoteConfig = z.infer<typeof localSchema>;
export type S3RemoteConfig = z.infer<typeof s3Schema>;
export type GcsRemoteConfig = z.infer<typeof gcsSchema>;
export type AzureRemoteConfig = z.infer<typeof azureSchema>;
/** A remote's configuration, as in the `remote` block of the archive config (JSON). */
export type RemoteConfig = z.infer<typeof schema>;

/** The providers, in one explicit table. */
const FACTORIES: { [P in ProviderName]: (c: Extract<RemoteConfig, { provider: P }>) => RemoteStore } = {
  local: (c) => createLocalRemote({ path: c.path, ...(c.prefix !== undefined ? { prefix: c.prefix } : {}) }),
  s3: ({ provider: _p, name: _n, retry: _r, glacierAfterDays: _g, retentionDays: _d, ...o }) => createS3Remote(o),
  gcs: ({ provider: _p, name: _n, retry: _r, glacierAfterDays: _g, retentionDays: _d, ...o }) => createGcsRemote(o),
  azure: ({ provider: _p, name: _n, retry: _r, glacierAfterDays: _g, retentionDays: _d, ...o }) => createAzureRemote(o),
};

/** The provider names createRemote knows. */
export const PROVIDERS: readonly ProviderName[] = Object.keys(FACTORIES) as ProviderName[];

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return 'is required';
  if (issue.code === 'invalid_union' && issue.path.join('.') === 'provider') return `must be one of ${PROVIDERS.map((p) => `'${p}'`).join(', ')}`;
  return issue.message.replace(/^Invalid input: /, '');
}

/**
 * Validates a remote configuration. Throws BriError CONFIG_INVALID whose
 * message names the key (`remote.s3.bucket: is required`) and never repeats
 * a value (values may be secrets).
 */
export function parseRemoteConfig(input: unknown): RemoteConfig {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const provider = typeof (input as { provider?: unknown } | null)?.provider === 'string' ? (input as { provider: string }).provider : undefined;
    const where = ['remote', ...(provider !== undefined && PROVIDERS.includes(provider as ProviderName) ? [provider] : []), ...issue.path.map(String)].join('.');
    const key = issue.path.map(String).join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : '(root)');
    throw new BriError(ErrorCodes.CONFIG_INVALID, `${where}: ${describeIssue(issue)}`, {
      hint: 'fix the remote configuration (see the README section on remote storage)',
      details: { key, issues: r.error.issues.length },
    });
  }
  // Every limit the provider puts on names, checked here once: a prefix no archive fits below fails every upload.
  try {
    storeNames(r.data.provider, r.data.prefix, r.data.provider === 'local' ? path.resolve(r.data.path) : undefined);
  } catch (err) {
    const key = isBriError(err) && err.details.key === 'path' ? 'path' : 'prefix';
    const named = r.data.name !== undefined ? ` (remote '${r.data.name}')` : '';
    throw new BriError(ErrorCodes.CONFIG_INVALID, `remote.${r.data.provider}.${key}${named}: ${(err as Error).message}`, {
      hint: (isBriError(err) ? err.hint : undefined) ?? "a prefix is '/'-separated names without '.', '..' or empty parts",
      details: { key, ...(isBriError(err) && err.details.limit !== undefined ? { limit: err.details.limit } : {}) },
    });
  }
  return r.data;
}

export interface CreateRemoteOptions {
  /** Retry policy; overrides the config's `retry`. false: none. */
  retry?: RetryOptions | false;
}

/**
 * Builds a store from a configuration (validated by parseRemoteConfig),
 * wrapped with retries unless the config or `opts` says `retry: false`.
 */
export function createRemote(config: RemoteConfig | unknown, opts: CreateRemoteOptions = {}): RemoteStore {
  const c = parseRemoteConfig(config);
  const store = (FACTORIES[c.provider] as (c: RemoteConfig) => RemoteStore)(c);
  const retryOpts = opts.retry !== undefined ? opts.retry : c.retry;
  return retryOpts === false ? store : withRetry(store, retryOpts ?? {});
}

/** The lifecycle rule a configuration asks for (`glacierAfterDays`, `retentionDays`), if any. */
export function lifecycleFromConfig(config: RemoteConfig): LifecycleRule | undefined {
  if (config.glacierAfterDays === undefined && config.retentionDays === undefined) return undefined;
  return {
    ...(config.glacierAfterDays !== undefined ? { transitionAfterDays: config.glacierAfterDays } : {}),
    ...(config.retentionDays !== undefined ? { expireAfterDays: config.retentionDays } : {}),
  };
}
