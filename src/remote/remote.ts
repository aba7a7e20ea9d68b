/**
 * One small interface for every place an archive can be kept: a local
 * directory, S3, Google Cloud Storage or Azure Blob Storage. Providers map
 * their SDK's errors to our codes (REMOTE_NOT_FOUND, REMOTE_ERROR), stream
 * every body, and confirm every upload before they report it done.
 *
 * The contract is the doc comments below; `test/remote/conformance.ts` checks
 * it against every provider on a real server.
 */
import type { Readable } from 'node:stream';

/** The providers this project knows. */
export type ProviderName = 'local' | 's3' | 'gcs' | 'azure';

/**
 * How a checksum was computed. Values are lowercase hex; the multipart forms
 * are the hex digest of the concatenated part digests followed by `-<parts>`
 * (what S3 reports for a multipart upload).
 */
export type ChecksumAlgorithm = 'sha256' | 'md5' | 'crc32c' | 'multipart-md5' | 'multipart-sha256';

/** What to upload: a file on disk. Every attempt opens it again (a retry re-streams from byte 0). */
export interface PutSource {
  /** Path of the file to upload. It must not change while `put` runs. */
  path: string;
}

/** Cancellation, our equivalent of Go's ctx. */
export interface CallOptions {
  /** Aborting rejects the call (BriError CANCELLED) and, for `put`, leaves no object behind (best effort). */
  signal?: AbortSignal;
}

export interface PutOptions extends CallOptions {
  /** Exact size of the file in bytes. */
  size: number;
  /** SHA-256 of the file, lowercase hex. The upload is refused when the bytes sent do not hash to it. */
  sha256: string;
  /** MD5 of the file, lowercase hex, when the caller already has it (lets the server check it too). */
  md5?: string;
  /**
   * User metadata stored with the object. Keys: `[a-z][a-z0-9_]*` (portable to
   * S3 headers, GCS and Azure's C#-identifier rule), not starting with `bri_`
   * (reserved). Values: printable ASCII. At most 2 KiB in total.
   */
  metadata?: Record<string, string>;
  /** MIME type stored with the object (default `application/octet-stream`). */
  contentType?: string;
  /** Told the bytes read from the file and sent so far (from 0 again on a retry). */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** What `put` confirmed. */
export interface PutResult {
  /** The key, relative to the store's prefix, as given to `put`. */
  key: string;
  /** Size the remote reports it stored; always equals `PutOptions.size`. */
  size: number;
  /** The remote's entity tag, when it has one. */
  etag?: string;
  /** The checksum the remote reported and that matched what was sent. */
  checksum: { algorithm: ChecksumAlgorithm; value: string };
}

/** One entry of a listing. */
export interface ObjectInfo {
  /** Key relative to the store's prefix. */
  key: string;
  size: number;
  /**
   * When the object's bytes were written: an upload record vouches only for an object not written since it was
   * confirmed (archive/copies/records.ts). Never a time that moves without a write: GCS's `updated` moves when a
   * lifecycle rule changes the storage class, so GCS gives `timeCreated` (a new write is a new generation, with its
   * own). S3's LastModified stays through lifecycle transitions and restores; Azure's Last-Modified through tier
   * changes and rehydration, but not through Set Blob Metadata or Properties, which bri never calls on an object.
   */
  lastModified: Date;
}

/** What `head` knows of an object. */
export interface ObjectHead extends ObjectInfo {
  /** User metadata as given to `put` (reserved `bri_*` entries removed). */
  metadata: Record<string, string>;
  /**
   * Checksums known for the object, lowercase hex. `sha256` is the one
   * confirmed at upload time (recorded with the object); `md5`, `crc32c` or a
   * multipart form come from the remote itself where it computes them.
   */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  etag?: string;
  contentType?: string;
}

/** A byte range, both ends inclusive (as in HTTP `Range: bytes=start-end`). */
export interface ByteRange {
  start: number;
  /** Inclusive; an end past the object's last byte is read as "to the end". */
  end: number;
}

export interface GetOptions extends CallOptions {
  range?: ByteRange;
}

/** Where a store points. Never holds credentials, so it can be logged or printed as JSON. */
export interface RemoteDescription {
  provider: ProviderName;
  /** A short human form, e.g. `s3://bucket/prefix/` or `/var/backups/bri`. */
  location: string;
  /** Bucket (s3, gcs) or container (azure). */
  bucket?: string;
  container?: string;
  /** Root directory (local). */
  path?: string;
  /** Key prefix every key is relative to ('' for none; ends with '/' otherwise). */
  prefix: string;
  region?: string;
  /** Custom endpoint, with any user info and query string removed. */
  endpoint?: string;
  storageClass?: string;
  accessTier?: string;
  account?: string;
}

/** Age-based rules for the objects under the store's prefix. */
export interface LifecycleRule {
  /** Move objects to the archive tier (S3 GLACIER, GCS ARCHIVE) this many days after creation. */
  transitionAfterDays?: number;
  /** Delete objects this many days after creation. */
  expireAfterDays?: number;
}

/**
 * Whether an object can be read now, after `thaw` did what it could: 'readable' (it was not in
 * an archive tier, or a restored copy is there), 'requested' (a restore was asked for just now),
 * 'in-progress' (one was asked for before and is not done).
 */
export type ThawOutcome = 'readable' | 'requested' | 'in-progress';

export interface ThawOptions extends CallOptions {
  /** How long the restored copy stays readable (S3; default 7 days). */
  days?: number;
  /** How fast (and how dear): S3 Expedited / Standard / Bulk; Azure High / Standard priority. */
  tier?: 'expedited' | 'standard' | 'bulk';
}

/** Outcome of `applyLifecycle`: either applied, or a documented no-op with the reason. */
export interface LifecycleResult {
  applied: boolean;
  /** Why nothing was applied (unsupported provider, server refused...). */
  reason?: string;
}

/**
 * A place to keep objects.
 *
 * Keys are relative to the store's configured prefix and are validated
 * (`validateKey`): `/`-separated, no empty, `.` or `..` segment, no leading
 * `/`, no control characters, at most 1024 bytes. An invalid key is a
 * BriError USAGE.
 *
 * Errors are BriErrors: REMOTE_NOT_FOUND for a missing object, bucket or
 * container (the hint says which); REMOTE_ERROR for everything else, with
 * `details.retryable` true when trying again may help (5xx, throttling,
 * dropped connections). Messages name the provider, the operation and the
 * key, and never contain credentials.
 */
export interface RemoteStore {
  readonly provider: ProviderName;

  /**
   * Uploads the file at `source.path` to `key`, replacing any object there.
   *
   * Resolves only after the remote confirmed what it stored: its size equals
   * `opts.size` and a checksum it reports (S3: x-amz-checksum-sha256 or the
   * ETag's MD5; GCS: md5Hash/crc32c; Azure: per-block and blob Content-MD5)
   * equals the one computed over the bytes sent, and those bytes hash to
   * `opts.sha256`. Local has no transit: it hashes the bytes on their way
   * into the file and checks the size of the file once fsynced; it does not
   * read the file back. On any mismatch it
   * rejects with REMOTE_ERROR (`details.expected`/`actual`) and deletes the
   * object (best effort). On failure no partial object is left visible
   * (multipart uploads are aborted, best effort).
   */
  put(key: string, source: PutSource, opts: PutOptions): Promise<PutResult>;

  /**
   * Opens the object (or a byte range of it) as a stream; nothing is read
   * whole into memory. Rejects with REMOTE_NOT_FOUND when the object is
   * missing, before any byte is delivered. A range starting past the end is
   * a REMOTE_ERROR. A failure while streaming is an 'error' event on the
   * stream carrying a BriError.
   */
  get(key: string, opts?: GetOptions): Promise<Readable>;

  /** Size, date, metadata and checksums of the object; REMOTE_NOT_FOUND when missing. */
  head(key: string, opts?: CallOptions): Promise<ObjectHead>;

  /**
   * Every object whose key starts with `prefix` (relative to the store's
   * prefix; '' for all), in ascending order of key (UTF-8 byte order),
   * fetched one page at a time as the caller iterates. `break` stops the
   * paging. A missing bucket or container is REMOTE_NOT_FOUND.
   */
  list(prefix: string, opts?: CallOptions): AsyncIterable<ObjectInfo>;

  /** Deletes the object. Idempotent: a missing object is not an error (a missing bucket or container is REMOTE_NOT_FOUND). */
  delete(key: string, opts?: CallOptions): Promise<void>;

  /** Where this store points, without credentials. */
  describe(): RemoteDescription;

  /**
   * Installs age-based rules for the objects under the store's prefix where
   * the provider supports them (S3 bucket lifecycle, GCS bucket lifecycle),
   * keeping the bucket's other rules. Elsewhere (local, Azure's data plane, a
   * server that refuses) it changes nothing and resolves `{ applied: false, reason }`.
   */
  applyLifecycle(rule: LifecycleRule, opts?: CallOptions): Promise<LifecycleResult>;

  /**
   * Makes an object that a lifecycle rule moved to an archive tier readable again (S3 Glacier
   * Flexible Retrieval / Deep Archive: RestoreObject; Azure Archive tier: rehydration to Hot).
   * Elsewhere objects are always readable (GCS Archive class included): 'readable' once the
   * object is known to exist. REMOTE_NOT_FOUND when it does not.
   */
  thaw(key: string, opts?: ThawOptions): Promise<ThawOutcome>;

  /**
   * Where the store can tell one, an identity of the bytes behind `key` on this machine (local:
   * `file:<device>:<inode>` of its file), null when the object is missing. Two names with one
   * identity are one copy, not two: a caller counting copies compares identities, never names.
   * Stores whose objects live elsewhere (S3, GCS, Azure) do not have it.
   */
  identify?(key: string, opts?: CallOptions): Promise<string | null>;

  /** Releases sockets and clients. Idempotent; the store must not be used afterwards. */
  close(): Promise<void>;
}
