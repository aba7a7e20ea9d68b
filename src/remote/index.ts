/** The remote layer's public API: explicit re-exports only. */
export type {
  ByteRange,
  CallOptions,
  ChecksumAlgorithm,
  GetOptions,
  LifecycleResult,
  LifecycleRule,
  ObjectHead,
  ObjectInfo,
  ProviderName,
  PutOptions,
  PutResult,
  PutSource,
  RemoteDescription,
  RemoteStore,
} from './remote.js';
export { createRemote, lifecycleFromConfig, parseRemoteConfig, PROVIDERS } from './registry.js';
export type { AzureRemoteConfig, CreateRemoteOptions, GcsRemoteConfig, LocalRemoteConfig, RemoteConfig, S3RemoteConfig } from './registry.js';
export { isColdObject, isMissingObject } from './remote-errors.js';
export { withRetry } from './retry.js';
export { downloadRanged, DEFAULT_CONCURRENCY, DEFAULT_PART_BYTES } from './ranged-download.js';
export type { RangedDownloadOptions, RangedDownloadResult } from './ranged-download.js';
export type { RetryInfo, RetryOptions } from './retry.js';
export type { RemoteTimeouts } from './timeouts.js';
export { createLocalRemote, fileIdentity } from './local.js';
export type { LocalRemoteOptions } from './local.js';
export { createS3Remote } from './s3/s3.js';
export type { S3RemoteOptions, S3Credentials } from './s3/s3.js';
export { createGcsRemote } from './gcs/gcs.js';
export type { GcsRemoteOptions } from './gcs/gcs.js';
export { createAzureRemote } from './azure.js';
export type { AzureRemoteOptions, AzureAccessTier } from './azure.js';
export { validateKey, compareKeys } from './keys.js';
export { redact } from './remote-errors.js';
