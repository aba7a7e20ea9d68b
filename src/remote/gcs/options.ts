/** What the GCS provider takes (validated by the registry's schema) and its defaults. */
import * as fsp from 'node:fs/promises';
import { BriError, ErrorCodes } from '../../errors.js';
import type { RemoteTimeouts } from '../timeouts.js';

const MiB = 1024 * 1024;
/** Above this size, uploads are resumable. */
export const RESUMABLE_THRESHOLD_BYTES = 8 * MiB;
/** Resumable chunk size: a multiple of 256 KiB, as GCS requires. Memory per upload is about one chunk. */
export const CHUNK_SIZE_BYTES = 8 * MiB;
/** GCS takes resumable chunks in multiples of this. */
export const CHUNK_GRANULARITY_BYTES = 256 * 1024;
/** Bytes per read of an upload's file: the step in which the upload's progress shows (timeouts.ts, watchProgress). */
export const UPLOAD_READ_BYTES = 64 * 1024;
/** Objects per list page (the API's maximum). */
export const LIST_PAGE_SIZE = 1000;

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
  /** Retries inside the library for idempotent requests (default 0: operations are retried by `withRetry`; more multiplies its attempts). */
  sdkMaxRetries?: number;
  /**
   * A download silent this long while its reader waits is taken for dropped and fails, retryable
   * (default: `timeouts.idleMs`): the library's read stream neither ends nor errors when the
   * connection drops mid-body (node-fetch 2 does not pass the response's error on), so silence is the sign.
   */
  downloadIdleTimeoutMs?: number;
  /** Connect and idle limits of every request (default 10 s and 60 s; see timeouts.ts). */
  timeouts?: RemoteTimeouts;
}

/**
 * Throws CONFIG_INVALID naming `file` when it is meant as JSON (named .json, or starting with `{`) and is not:
 * the library said only "key must be a string, a buffer or an object". Nothing of the file is quoted (it holds
 * a private key). A file it cannot read, or a .p12/.pem key, is left to the library, which names it.
 */
export async function checkKeyFile(file: string): Promise<void> {
  const text = await fsp.readFile(file, 'utf8').catch(() => null);
  if (text === null || (!file.toLowerCase().endsWith('.json') && !text.trimStart().startsWith('{'))) return;
  try {
    JSON.parse(text);
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new BriError(ErrorCodes.CONFIG_INVALID, `remote.gcs.keyFilename: the key file ${file} is not valid JSON${at !== undefined ? ` (at character ${at})` : ''}`, {
      hint: 'Point keyFilename at a service account key file as the Google Cloud console downloads it (JSON, with client_email and private_key), or download a new key; a file cut short or edited by hand is not read.',
      details: { key: 'keyFilename', file },
    });
  }
}
