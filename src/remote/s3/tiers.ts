/**
 * S3 storage tiers: the bucket lifecycle rule that moves old archives to
 * Glacier (`glacierAfterDays`), and RestoreObject, which makes one readable
 * again (`thaw`).
 */
import type { LifecycleRule as S3LifecycleRule, S3Client, TransitionStorageClass } from '@aws-sdk/client-s3';
import { failureFacts, throwIfAborted, toRemoteError, type RemoteErrorContext } from '../remote-errors.js';
import type { CallOptions, LifecycleResult, LifecycleRule, ThawOptions, ThawOutcome } from '../remote.js';

/** What the tier operations need from the S3 store: its client, bucket, prefix and error context. */
export interface S3Target {
  s3: typeof import('@aws-sdk/client-s3');
  client: S3Client;
  bucket: string;
  prefix: string;
  ctx: RemoteErrorContext;
}

const unsupported = (f: { code?: string | undefined; status?: number | undefined }) => f.code === 'NotImplemented' || f.status === 501 || f.status === 405;

/** Installs our rule for the store's prefix, keeping the bucket's other rules (one rule per prefix, by id). */
export async function applyS3Lifecycle(t: S3Target, rule: LifecycleRule, storageClass: string, opts: CallOptions): Promise<LifecycleResult> {
  throwIfAborted(opts.signal, t.ctx);
  const Bucket = t.bucket;
  let rules: S3LifecycleRule[] = [];
  try {
    rules = (await t.client.send(new t.s3.GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules ?? [];
  } catch (err) {
    const f = failureFacts(err);
    if (f.code === 'NoSuchLifecycleConfiguration') rules = [];
    else if (unsupported(f)) return { applied: false, reason: `the server does not support bucket lifecycle rules (${f.code ?? f.status})` };
    else throw toRemoteError(err, t.ctx, false);
  }
  const ours: S3LifecycleRule = {
    ID: `bri-archive:${t.prefix === '' ? '*' : t.prefix}`.slice(0, 255),
    Status: 'Enabled',
    Filter: { Prefix: t.prefix },
    ...(rule.transitionAfterDays !== undefined ? { Transitions: [{ Days: rule.transitionAfterDays, StorageClass: storageClass as TransitionStorageClass }] } : {}),
    ...(rule.expireAfterDays !== undefined ? { Expiration: { Days: rule.expireAfterDays } } : {}),
  };
  try {
    await t.client.send(new t.s3.PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: [...rules.filter((r) => r.ID !== ours.ID), ours] } }));
  } catch (err) {
    const f = failureFacts(err);
    if (unsupported(f)) return { applied: false, reason: `the server does not support bucket lifecycle rules (${f.code ?? f.status})` };
    throw toRemoteError(err, t.ctx, false);
  }
  return { applied: true };
}

/**
 * RestoreObject for an object in Glacier Flexible Retrieval or Deep Archive. Other classes are
 * readable as they are: S3 refuses with InvalidObjectState, and `exists` then checks the object is there.
 */
export async function thawS3Object(t: S3Target, key: string, opts: ThawOptions, exists: () => Promise<unknown>): Promise<ThawOutcome> {
  throwIfAborted(opts.signal, t.ctx);
  const Tier = opts.tier === 'expedited' ? 'Expedited' : opts.tier === 'bulk' ? 'Bulk' : 'Standard';
  try {
    const res = await t.client.send(
      new t.s3.RestoreObjectCommand({ Bucket: t.bucket, Key: t.prefix + key, RestoreRequest: { Days: opts.days ?? 7, GlacierJobParameters: { Tier } } }),
      opts.signal ? { abortSignal: opts.signal } : {},
    );
    // 202: the restore is under way; 200: a restored copy is already there.
    return res.$metadata.httpStatusCode === 200 ? 'readable' : 'requested';
  } catch (err) {
    const f = failureFacts(err);
    if (f.code === 'RestoreAlreadyInProgress') return 'in-progress';
    if (f.code === 'InvalidObjectState') {
      await exists();
      return 'readable';
    }
    throw toRemoteError(err, t.ctx, true);
  }
}
