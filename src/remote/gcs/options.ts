/** What the GCS provider takes (validated by the registry's schema) and its defaults. */

const MiB = 1024 * 1024;
/** Above this size, uploads are resumable. */
export const RESUMABLE_THRESHOLD_BYTES = 8 * MiB;
/** Resumable chunk size: a multiple of 256 KiB, as GCS requires. Memory per upload is about one chunk. */
export const CHUNK_SIZE_BYTES = 8 * MiB;
/** GCS takes resumable chunks in multiples of this. */
export const CHUNK_GRANULARITY_BYTES = 256 * 1024;
/** Objects per list page (the API's maximum). */
export const LIST_PAGE_SIZE = 1000;
/**
 * The longest a download waits for its next bytes before it counts as dropped (and is resumed
 * by the retry wrapper): the library's read stream neither ends nor errors when the connection
 * drops mid-body (node-fetch 2 does not pass the response's error on), so silence is the sign.
 */
export const DOWNLOAD_IDLE_TIMEOUT_MS = 60_000;

export interface GcsServiceAccountCredentials {
  client_email: string;
  private_key: string;
}

export interface GcsRemoteOptions {
  /** Bucket name (must exist). */
  bucket: string;
  /** Key prefix (default none). */
  prefix?: string;
  /** Custom API endpoint (a GCS-compatible server), e.g. http://127.0.0.1:4443. Default: Google. */
  endpoint?: string;
  /** Project id (default: from the credentials or the environment). */
  projectId?: string;
  /** Service account key fields. Default: Application Default Credentials. */
  credentials?: GcsServiceAccountCredentials;
  /** Path of a service account key file. */
  keyFilename?: string;
  /** Storage class for new objects (STANDARD, NEARLINE, COLDLINE, ARCHIVE). Default: the bucket's. */
  storageClass?: string;
  /** Files larger than this use a resumable upload (default 8 MiB). */
  resumableThresholdBytes?: number;
  /** Resumable chunk size (default 8 MiB; rounded up to a multiple of 256 KiB). */
  chunkSizeBytes?: number;
  /** Objects per listing page (default 1000; small values are for tests). */
  listPageSize?: number;
  /** Storage class that applyLifecycle transitions to (default ARCHIVE). */
  lifecycleStorageClass?: string;
  /** Retries inside the library for idempotent requests (default 2); operations are retried by `withRetry`. */
  sdkMaxRetries?: number;
  /** A download silent this long is taken for dropped and fails, retryable (default 60 s; see DOWNLOAD_IDLE_TIMEOUT_MS). */
  downloadIdleTimeoutMs?: number;
}
