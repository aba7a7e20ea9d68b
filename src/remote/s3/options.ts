/** What the S3 provider takes (validated by the registry's schema) and its defaults. */
import type { RemoteTimeouts } from '../timeouts.js';

const MiB = 1024 * 1024;
/** Default multipart part size. Memory per upload is about (QUEUE_SIZE + 1) x this. */
export const PART_SIZE_BYTES = 8 * MiB;
/** S3's smallest part (all but the last). */
export const MIN_PART_SIZE_BYTES = 5 * MiB;
/** Parts uploaded in parallel. */
export const QUEUE_SIZE = 4;
/** Keys per ListObjectsV2 page (S3's maximum). */
export const LIST_PAGE_SIZE = 1000;

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3RemoteOptions {
  /** Bucket name (must exist). */
  bucket: string;
  /** Key prefix (default none). */
  prefix?: string;
  /** Region (default AWS_REGION / AWS_DEFAULT_REGION, else us-east-1). */
  region?: string;
  /** Custom endpoint for S3-compatible servers (MinIO, s3rver, R2...). Default: AWS. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true with a custom endpoint, else false. */
  forcePathStyle?: boolean;
  /** Static credentials. Default: the SDK's chain (env, shared config, SSO, instance/container roles). */
  credentials?: S3Credentials;
  /** Storage class for new objects (STANDARD, STANDARD_IA, GLACIER_IR...). Default: the bucket's. */
  storageClass?: string;
  /** Multipart part size in bytes (default 8 MiB, at least 5 MiB). */
  partSizeBytes?: number;
  /** Parts in flight (default 4). */
  queueSize?: number;
  /** Files larger than this go multipart (default: partSizeBytes). */
  multipartThresholdBytes?: number;
  /** Keys per listing page (default 1000; small values are for tests). */
  listPageSize?: number;
  /**
   * Have S3 verify SHA-256s: x-amz-checksum-sha256 on a single PutObject, SHA-256 part checksums
   * on a multipart upload (confirmed by the composite checksum). Default: true on AWS, false with
   * a custom `endpoint` (S3-compatible servers vary; the ETag's MD5 confirms uploads there).
   */
  sha256Checksums?: boolean;
  /** Storage class that applyLifecycle transitions to (default GLACIER). */
  lifecycleStorageClass?: string;
  /** Attempts per request inside the SDK (default 1: whole operations are retried by `withRetry`; more multiplies its attempts). */
  sdkMaxAttempts?: number;
  /**
   * Connect and idle limits of every request (default 10 s and 60 s; see timeouts.ts), given
   * to the SDK's NodeHttpHandler as connectionTimeout and socketTimeout (a socket idle timeout).
   */
  timeouts?: RemoteTimeouts;
}
