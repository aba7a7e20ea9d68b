/**
 * The Google Cloud Storage provider, on @google-cloud/storage (v7), loaded
 * on first use.
 *
 * Files up to `resumableThresholdBytes` go in one multipart request; larger
 * ones as a resumable upload in chunks of `chunkSizeBytes` (the library holds
 * one chunk in memory and resumes from the server's persisted offset after a
 * dropped connection). The bytes are hashed on their way out (SHA-256, MD5,
 * CRC-32C); the upload counts once the object resource GCS returns reports
 * the same size, md5Hash and crc32c. A caller-supplied MD5 is also sent as
 * `md5Hash`, which GCS checks before it creates the object. On a mismatch the
 * object is deleted and put rejects.
 *
 * With a custom `endpoint` the library sends no credentials (its rule for
 * custom endpoints), which is what a local test server wants.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket, CreateReadStreamOptions, File, Storage, StorageOptions } from '@google-cloud/storage';
import { crc32cBytes } from '../crc32c.js';
import {
  storeNames,
  relativeKey,
  SHA256_METADATA_KEY,
  splitMetadata,
  validateKey,
  validateLifecycleRule,
  validateListPrefix,
  validateRange,
} from '../keys.js';
import { b64ToHex, checkSent, hexToB64, integrityError, preparePut } from '../put-check.js';
import { cancelled, displayEndpoint, failureFacts, notFound, remoteFailure, throwIfAborted, toRemoteError, type RemoteErrorContext } from '../remote-errors.js';
import type {
  CallOptions,
  ChecksumAlgorithm,
  GetOptions,
  LifecycleResult,
  LifecycleRule,
  ObjectHead,
  ObjectInfo,
  PutOptions,
  PutResult,
  PutSource,
  RemoteDescription,
  RemoteStore,
  ThawOptions,
  ThawOutcome,
} from '../remote.js';
import { guardDownload, openHashed, progressOf } from '../streams.js';
import { SocketTimeouts, watchProgress } from '../timeouts.js';
import { checkKeyFile, CHUNK_GRANULARITY_BYTES, CHUNK_SIZE_BYTES, LIST_PAGE_SIZE, RESUMABLE_THRESHOLD_BYTES, UPLOAD_READ_BYTES, type GcsRemoteOptions } from './options.js';

export type { GcsRemoteOptions, GcsServiceAccountCredentials } from './options.js';

type GcsSdk = typeof import('@google-cloud/storage');

interface LifecycleRuleJson {
  action?: { type?: string; storageClass?: string };
  condition?: { age?: number; matchesPrefix?: string[] };
}

class GcsRemote implements RemoteStore {
  readonly provider = 'gcs' as const;
  private readonly opts: GcsRemoteOptions;
  private readonly prefix: string;
  private readonly threshold: number;
  private readonly chunkSize: number;
  private readonly pageSize: number;
  private readonly secrets: string[];
  private readonly sockets: SocketTimeouts;
  private sdk: Promise<{ storage: Storage; bucket: Bucket }> | undefined;
  private closed = false;

  constructor(opts: GcsRemoteOptions) {
    this.opts = opts;
    this.prefix = storeNames('gcs', opts.prefix).prefix;
    this.threshold = opts.resumableThresholdBytes ?? RESUMABLE_THRESHOLD_BYTES;
    const chunk = opts.chunkSizeBytes ?? CHUNK_SIZE_BYTES;
    this.chunkSize = Math.max(CHUNK_GRANULARITY_BYTES, Math.ceil(chunk / CHUNK_GRANULARITY_BYTES) * CHUNK_GRANULARITY_BYTES);
    this.pageSize = Math.min(LIST_PAGE_SIZE, Math.max(1, opts.listPageSize ?? LIST_PAGE_SIZE));
    this.secrets = opts.credentials ? [opts.credentials.private_key] : [];
    this.sockets = new SocketTimeouts(opts.timeouts);
  }

  /** The error context of a call; `signal` is the caller's (an abort is CANCELLED only when it fired). */
  private ctx(op: string, key?: string, signal?: AbortSignal): RemoteErrorContext {
    const where = { timeouts: this.sockets.watch(), endpoint: displayEndpoint(this.opts.endpoint) ?? 'https://storage.googleapis.com' };
    return { provider: 'gcs', op, ...(key !== undefined ? { key } : {}), bucket: this.opts.bucket, secrets: this.secrets, ...(signal !== undefined ? { signal } : {}), ...where };
  }

  private client(): Promise<{ storage: Storage; bucket: Bucket }> {
    if (this.closed) return Promise.reject(remoteFailure(this.ctx('init'), 'the store is closed'));
    this.sdk ??= (async () => {
      const sdk: GcsSdk = await import('@google-cloud/storage');
      const o = this.opts;
      if (o.keyFilename !== undefined) await checkKeyFile(o.keyFilename);
      const options: StorageOptions = {
        // One attempt budget, withRetry's (the library's own retries multiplied it, and the error said fewer).
        retryOptions: { autoRetry: (o.sdkMaxRetries ?? 0) > 0, maxRetries: o.sdkMaxRetries ?? 0, retryDelayMultiplier: 2, maxRetryDelay: 8, totalTimeout: 300 },
        ...(o.endpoint !== undefined ? { apiEndpoint: o.endpoint } : {}),
        ...(o.projectId !== undefined ? { projectId: o.projectId } : o.endpoint !== undefined ? { projectId: 'bri-local' } : {}),
        ...(o.credentials !== undefined ? { credentials: { ...o.credentials } } : {}),
        ...(o.keyFilename !== undefined ? { keyFilename: o.keyFilename } : {}),
      };
      const storage = new sdk.Storage(options);
      return { storage, bucket: storage.bucket(o.bucket) };
    })();
    return this.sdk;
  }

  put(key: string, source: PutSource, opts: PutOptions): Promise<PutResult> {
    const ctx = this.ctx('put', key, opts.signal);
    // Everything the upload sets off (the file's reads, the library's requests) runs under the limits.
    return this.sockets.run(ctx.timeouts, () => this.upload(key, source, opts, ctx));
  }

  private async upload(key: string, source: PutSource, opts: PutOptions, ctx: RemoteErrorContext): Promise<PutResult> {
    const userMetadata = await preparePut(ctx, key, source, opts, { provider: 'gcs', prefix: this.prefix });
    throwIfAborted(opts.signal, ctx);
    const { bucket } = await this.client();
    const file = bucket.file(this.prefix + key);
    const resumable = opts.size > this.threshold;
    let sessionUri: string | undefined;
    const ws = file.createWriteStream({
      resumable,
      ...(resumable ? { chunkSize: this.chunkSize } : {}),
      // We hash the bytes ourselves (one pass, CRC-32C included) and compare below.
      validation: false,
      metadata: {
        contentType: opts.contentType ?? 'application/octet-stream',
        metadata: { ...userMetadata, [SHA256_METADATA_KEY]: opts.sha256 },
        ...(this.opts.storageClass !== undefined ? { storageClass: this.opts.storageClass } : {}),
        // GCS checks a declared md5Hash itself and refuses a mismatch (400) without creating the object.
        ...(opts.md5 !== undefined ? { md5Hash: hexToB64(opts.md5) } : {}),
      },
    });
    ws.on('uri', (uri: string) => {
      sessionUri = uri;
    });
    // The library streams the body: on a new TLS connection the limits see it only once it is all
    // sent (timeouts.ts), so meanwhile the upload's own progress counts, in steps of one small read.
    const progress = watchProgress(ctx.timeouts ?? this.sockets.watch(), (err) => ws.destroy(err));
    ws.on('progress', () => progress.moved());
    const report = progressOf(opts).onBytes;
    const onBytes = (n: number): void => {
      progress.moved();
      report?.(n);
    };
    const tap = openHashed(source.path, { maxBytes: opts.size, crc32c: true, onBytes }, UPLOAD_READ_BYTES);
    try {
      await pipeline(tap, ws, opts.signal ? { signal: opts.signal } : {});
    } catch (err) {
      if (sessionUri !== undefined) await this.cancelSession(sessionUri);
      if (opts.signal?.aborted) throw cancelled(ctx);
      const hashErr = tap.errored;
      if (hashErr instanceof Error && /grew past/.test(hashErr.message)) throw remoteFailure(ctx, hashErr.message, { details: { integrity: true } });
      const f = failureFacts(err);
      if (f.status === 400 && /md5|crc32c|hash/i.test(f.message)) {
        throw remoteFailure(ctx, `GCS refused the upload: checksum mismatch (${f.message})`, { details: { integrity: true } });
      }
      throw toRemoteError(err, ctx, false);
    } finally {
      progress.stop();
    }
    try {
      const digests = await tap.settled();
      if (digests === undefined) throw remoteFailure(ctx, 'the upload completed before the whole source was read', { details: { integrity: true } });
      checkSent(ctx, digests, opts);
      const meta = file.metadata as { size?: string | number; md5Hash?: string; crc32c?: string; etag?: string; generation?: string | number };
      const size = Number(meta.size);
      if (size !== opts.size) throw integrityError(ctx, 'size stored', opts.size, String(meta.size));
      let confirmed: { algorithm: ChecksumAlgorithm; value: string } | undefined;
      if (meta.crc32c !== undefined) {
        const expected = crc32cBytes(digests.crc32c ?? 0).toString('base64');
        if (meta.crc32c !== expected) throw integrityError(ctx, 'crc32c', expected, meta.crc32c);
        confirmed = { algorithm: 'crc32c', value: b64ToHex(meta.crc32c) };
      }
      if (meta.md5Hash !== undefined) {
        const expected = digests.md5.toString('hex');
        const actual = b64ToHex(meta.md5Hash);
        if (actual !== expected) throw integrityError(ctx, 'md5Hash', expected, actual);
        confirmed = { algorithm: 'md5', value: actual };
      }
      if (confirmed === undefined) throw remoteFailure(ctx, 'GCS returned neither md5Hash nor crc32c to confirm the upload with', { details: { integrity: true } });
      return { key, size, ...(meta.etag !== undefined ? { etag: meta.etag } : {}), checksum: confirmed };
    } catch (err) {
      await file.delete({ ignoreNotFound: true }).catch(() => undefined);
      throw toRemoteError(err, ctx);
    }
  }

  /**
   * Cancels an unfinished resumable session: DELETE on its URI, which GCS
   * answers with 499. The session URI is its own credential, so this goes
   * out without auth (and never through Application Default Credentials,
   * whose discovery would probe the GCE metadata server). Best effort.
   */
  private async cancelSession(uri: string): Promise<void> {
    try {
      const res = await fetch(uri, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
    } catch {
      // an unfinished session creates no object and expires by itself
    }
  }

  private async metadataOf(key: string, op: string, signal?: AbortSignal): Promise<{ file: File; meta: Record<string, unknown> }> {
    const ctx = this.ctx(op, key, signal);
    validateKey(key, { provider: 'gcs', prefix: this.prefix });
    throwIfAborted(signal, ctx);
    const { bucket } = await this.client();
    const file = bucket.file(this.prefix + key);
    try {
      const [meta] = await this.sockets.run(ctx.timeouts, () => file.getMetadata());
      return { file, meta: meta as Record<string, unknown> };
    } catch (err) {
      const f = failureFacts(err);
      if (f.status === 404 && !/bucket/i.test(f.message)) throw notFound(ctx, err);
      throw toRemoteError(err, ctx, false);
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const ctx = this.ctx('get', key, opts.signal);
    validateKey(key, { provider: 'gcs', prefix: this.prefix });
    validateRange(opts.range);
    const { meta } = await this.metadataOf(key, 'get', opts.signal);
    const size = Number(meta.size);
    const { bucket } = await this.client();
    // Pin the generation we saw, so that an overwrite in between cannot mix two objects.
    const file = bucket.file(this.prefix + key, { generation: Number(meta.generation) });
    // A dropped connection shows only as silence (see downloadIdleTimeoutMs): the guard turns it into a retryable error.
    const guard = { idleTimeoutMs: this.opts.downloadIdleTimeoutMs ?? this.sockets.limits.idleMs };
    const read = (o: CreateReadStreamOptions): Readable => this.startRead(file, o, ctx);
    if (opts.range !== undefined) {
      const { start } = opts.range;
      if (start >= size && !(size === 0 && start === 0)) throw remoteFailure(ctx, 'the requested range is not satisfiable', { details: { size, range: opts.range } });
      const end = Math.min(opts.range.end, size - 1);
      if (end < start) return guardDownload(read({ start: 0, end: 0, validation: false }), ctx, { takeBytes: 0 }, guard);
      return guardDownload(read({ start, end, validation: false }), ctx, { takeBytes: end - start + 1, expectedBytes: end - start + 1 }, guard);
    }
    if (size === 0) {
      const { Readable } = await import('node:stream');
      return Readable.from([]);
    }
    // Whole object: the library checks the body against x-goog-hash's crc32c at the end.
    return guardDownload(read({ validation: 'crc32c' }), ctx, { expectedBytes: size, takeBytes: size }, guard);
  }

  /**
   * The library sends a download's request on the stream's first read: started here, under the
   * limits, not later in whatever context the reader is in. An error before the reader comes
   * stays on the stream for it (and is no unhandled 'error').
   */
  private startRead(file: File, o: CreateReadStreamOptions, ctx: RemoteErrorContext): Readable {
    return this.sockets.run(ctx.timeouts, () => {
      const stream = file.createReadStream(o);
      stream.on('error', () => undefined);
      stream.read(0);
      return stream;
    });
  }

  async head(key: string, opts: CallOptions = {}): Promise<ObjectHead> {
    const { meta } = await this.metadataOf(key, 'head', opts.signal);
    const stored = (meta.metadata ?? {}) as Record<string, string>;
    const { user, sha256 } = splitMetadata(stored);
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    if (sha256 !== undefined) checksums.sha256 = sha256;
    if (typeof meta.md5Hash === 'string') checksums.md5 = b64ToHex(meta.md5Hash);
    if (typeof meta.crc32c === 'string') checksums.crc32c = b64ToHex(meta.crc32c);
    return {
      key,
      size: Number(meta.size),
      lastModified: new Date(String(meta.timeCreated ?? meta.updated ?? 0)),
      metadata: user,
      checksums,
      ...(typeof meta.etag === 'string' ? { etag: meta.etag } : {}),
      ...(typeof meta.contentType === 'string' ? { contentType: meta.contentType } : {}),
    };
  }

  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    const ctx = this.ctx('list', prefix, opts.signal);
    validateListPrefix(prefix);
    const { bucket } = await this.client();
    let pageToken: string | undefined;
    do {
      throwIfAborted(opts.signal, ctx);
      let files: File[];
      let next: { pageToken?: string } | null | undefined;
      try {
        [files, next] = (await this.sockets.run(ctx.timeouts, () => bucket.getFiles({ prefix: this.prefix + prefix, maxResults: this.pageSize, autoPaginate: false, ...(pageToken !== undefined ? { pageToken } : {}) }))) as unknown as [
          File[],
          { pageToken?: string } | null,
        ];
      } catch (err) {
        throw toRemoteError(err, ctx, false);
      }
      for (const f of files) {
        const m = f.metadata as { size?: string | number; updated?: string; timeCreated?: string };
        // timeCreated, not updated: a lifecycle rule's change of storage class updates `updated`, and the copy would look written again (ObjectInfo).
        yield { key: relativeKey(this.prefix, f.name), size: Number(m.size ?? 0), lastModified: new Date(m.timeCreated ?? m.updated ?? 0) };
      }
      pageToken = next?.pageToken;
    } while (pageToken !== undefined && pageToken !== '');
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    const ctx = this.ctx('delete', key, opts.signal);
    validateKey(key, { provider: 'gcs', prefix: this.prefix });
    throwIfAborted(opts.signal, ctx);
    const { bucket } = await this.client();
    try {
      await this.sockets.run(ctx.timeouts, () => bucket.file(this.prefix + key).delete());
    } catch (err) {
      const f = failureFacts(err);
      if (f.status === 404 && !/bucket/i.test(f.message)) return;
      throw toRemoteError(err, ctx, false);
    }
  }

  describe(): RemoteDescription {
    const endpoint = displayEndpoint(this.opts.endpoint);
    return {
      provider: 'gcs',
      location: `gs://${this.opts.bucket}/${this.prefix}`,
      bucket: this.opts.bucket,
      prefix: this.prefix,
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(this.opts.storageClass !== undefined ? { storageClass: this.opts.storageClass } : {}),
    };
  }

  /** Whether a bucket lifecycle rule is one of ours for this store's prefix. */
  private isOurRule(r: LifecycleRuleJson): boolean {
    const type = r.action?.type;
    if (type !== 'Delete' && type !== 'SetStorageClass') return false;
    const mp = r.condition?.matchesPrefix;
    if (this.prefix === '') return mp === undefined || mp.length === 0;
    return mp !== undefined && mp.length === 1 && mp[0] === this.prefix;
  }

  /** GCS serves every storage class (Archive included) at once: nothing to restore. */
  async thaw(key: string, opts: ThawOptions = {}): Promise<ThawOutcome> {
    await this.head(key, opts);
    return 'readable';
  }

  async applyLifecycle(rule: LifecycleRule, opts: CallOptions = {}): Promise<LifecycleResult> {
    const ctx = this.ctx('lifecycle', undefined, opts.signal);
    validateLifecycleRule(rule);
    if (rule.transitionAfterDays === undefined && rule.expireAfterDays === undefined) return { applied: false, reason: 'no transition or expiration was asked for' };
    throwIfAborted(opts.signal, ctx);
    const { bucket } = await this.client();
    try {
      const [meta] = await this.sockets.run(ctx.timeouts, () => bucket.getMetadata());
      const existing = ((meta as { lifecycle?: { rule?: LifecycleRuleJson[] } }).lifecycle?.rule ?? []).filter((r) => !this.isOurRule(r));
      const condition = (age: number): LifecycleRuleJson['condition'] => ({ age, ...(this.prefix !== '' ? { matchesPrefix: [this.prefix] } : {}) });
      const ours: LifecycleRuleJson[] = [];
      if (rule.transitionAfterDays !== undefined) {
        ours.push({ action: { type: 'SetStorageClass', storageClass: this.opts.lifecycleStorageClass ?? 'ARCHIVE' }, condition: condition(rule.transitionAfterDays) });
      }
      if (rule.expireAfterDays !== undefined) ours.push({ action: { type: 'Delete' }, condition: condition(rule.expireAfterDays) });
      await this.sockets.run(ctx.timeouts, () => bucket.setMetadata({ lifecycle: { rule: [...existing, ...ours] } } as Parameters<Bucket['setMetadata']>[0]));
      return { applied: true };
    } catch (err) {
      const f = failureFacts(err);
      if (f.status === 501 || f.status === 405) return { applied: false, reason: `the server does not support bucket lifecycle rules (${f.status})` };
      throw toRemoteError(err, ctx, false);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sdk = undefined;
    this.sockets.close();
  }
}

/** A store on a Google Cloud Storage bucket. */
export function createGcsRemote(opts: GcsRemoteOptions): RemoteStore {
  return new GcsRemote(opts);
}
