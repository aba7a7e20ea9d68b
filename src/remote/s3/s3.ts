/**
 * The S3 provider (AWS S3 and S3-compatible servers), on @aws-sdk/client-s3
 * and @aws-sdk/lib-storage, loaded on first use.
 *
 * Uploads up to `multipartThresholdBytes` are one streamed PutObject from the
 * file; larger ones are a multipart `Upload` holding at most
 * `queueSize + 1` parts of `partSizeBytes` in memory. The bytes are hashed on
 * their way out (SHA-256, MD5, per-part digests), and the upload counts only
 * once a HeadObject confirms the size and one checksum: x-amz-checksum-sha256
 * (full or composite, where the server keeps it) or the ETag (MD5 of a
 * single-part object, MD5 of part MD5s for multipart; s3rver reports the MD5
 * of the whole object). Otherwise the object is deleted and put rejects.
 *
 * The SDK's checksum modes are pinned to WHEN_REQUIRED: with the default
 * (WHEN_SUPPORTED) a streamed PutObject is sent with aws-chunked framing and a
 * CRC32 trailer, which some S3-compatible servers (s3rver) store verbatim,
 * framing included, and serve back with 200 OK. We send our own SHA-256 as a
 * plain header instead (AWS verifies it; others ignore it).
 */
import type { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { multipartDigest, type Digests } from '../hash-tap.js';
import { resolveTimeouts } from '../timeouts.js';
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
import { BucketCheck, cancelled, displayEndpoint, failureFacts, remoteFailure, throwIfAborted, toRemoteError, type RemoteErrorContext } from '../remote-errors.js';
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
import { guardDownload, linkedController, openHashed, progressOf, rangeWindow } from '../streams.js';
import { applyS3Lifecycle, thawS3Object, type S3Target } from './tiers.js';
import { withoutNodeVersionWarning } from './sdk-warning.js';
import { LIST_PAGE_SIZE, MIN_PART_SIZE_BYTES, PART_SIZE_BYTES, QUEUE_SIZE, type S3RemoteOptions } from './options.js';

export { LIST_PAGE_SIZE, MIN_PART_SIZE_BYTES, PART_SIZE_BYTES, QUEUE_SIZE, type S3Credentials, type S3RemoteOptions } from './options.js';

type S3Sdk = typeof import('@aws-sdk/client-s3');
const noop = (): void => undefined;
const SILENT_LOGGER = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
type StorageSdk = typeof import('@aws-sdk/lib-storage');

class S3Remote implements RemoteStore {
  readonly provider = 's3' as const;
  private readonly opts: S3RemoteOptions;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly threshold: number;
  private readonly pageSize: number;
  private readonly sha256Checksums: boolean;
  private readonly secrets: string[];
  private readonly limits: { connectMs: number; idleMs: number };
  private sdk: Promise<{ s3: S3Sdk; storage: StorageSdk; client: S3Client }> | undefined;
  private closed = false;
  private readonly bucketCheck = new BucketCheck(async (signal) => {
    const { s3, client } = await this.client();
    try {
      await client.send(new s3.HeadBucketCommand({ Bucket: this.opts.bucket }), signal ? { abortSignal: signal } : {});
      return true;
    } catch (err) {
      const f = failureFacts(err);
      if (f.status === 404 || f.code === 'NoSuchBucket') return false;
      throw err;
    }
  });

  constructor(opts: S3RemoteOptions) {
    this.opts = opts;
    this.prefix = storeNames('s3', opts.prefix).prefix;
    this.partSize = Math.max(MIN_PART_SIZE_BYTES, opts.partSizeBytes ?? PART_SIZE_BYTES);
    this.queueSize = Math.max(1, opts.queueSize ?? QUEUE_SIZE);
    this.threshold = opts.multipartThresholdBytes ?? this.partSize;
    this.pageSize = Math.min(LIST_PAGE_SIZE, Math.max(1, opts.listPageSize ?? LIST_PAGE_SIZE));
    this.sha256Checksums = opts.sha256Checksums ?? opts.endpoint === undefined;
    const c = opts.credentials;
    this.secrets = c ? [c.secretAccessKey, ...(c.sessionToken ? [c.sessionToken] : [])] : [];
    this.limits = resolveTimeouts(opts.timeouts);
  }

  /** The error context of a call; `signal` is the caller's (an abort is CANCELLED only when it fired). */
  private ctx(op: string, key?: string, signal?: AbortSignal): RemoteErrorContext {
    const endpoint = displayEndpoint(this.opts.endpoint);
    const where = { timeouts: { ...this.limits }, ...(endpoint !== undefined ? { endpoint } : {}) };
    return { provider: 's3', op, ...(key !== undefined ? { key } : {}), bucket: this.opts.bucket, secrets: this.secrets, ...(signal !== undefined ? { signal } : {}), ...where };
  }

  /** Loads the SDK and builds the client once (lazy, so `bri` without S3 never loads it). */
  private client(): Promise<{ s3: S3Sdk; storage: StorageSdk; client: S3Client }> {
    if (this.closed) return Promise.reject(remoteFailure(this.ctx('init'), 'the store is closed'));
    this.sdk ??= (async () => {
      const [s3, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
      const o = this.opts;
      const config: S3ClientConfig = {
        region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        forcePathStyle: o.forcePathStyle ?? o.endpoint !== undefined,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // One attempt budget, withRetry's: the SDK's own retries multiplied it (5 x 3 tries of idleMs each on a
        // server that never answers), and the error said 5.
        maxAttempts: o.sdkMaxAttempts ?? 1,
        // The SDK's default is no limit at all: a server that accepts the connection and never
        // answers held a call for ever. socketTimeout is an idle timeout (bytes moving restart it).
        requestHandler: { connectionTimeout: this.limits.connectMs, socketTimeout: this.limits.idleMs },
        // The SDK's default logger is console for some messages ("An error was encountered in a
        // non-retryable streaming request."): our errors say what failed, so keep the SDK quiet.
        logger: SILENT_LOGGER,
        ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
        ...(o.credentials !== undefined ? { credentials: { ...o.credentials } } : {}),
      };
      return { s3, storage, client: withoutNodeVersionWarning(() => new s3.S3Client(config)) };
    })();
    return this.sdk;
  }

  async put(key: string, source: PutSource, opts: PutOptions): Promise<PutResult> {
    const ctx = this.ctx('put', key, opts.signal);
    const userMetadata = await preparePut(ctx, key, source, opts, { provider: 's3', prefix: this.prefix });
    throwIfAborted(opts.signal, ctx);
    const { s3, storage, client } = await this.client();
    const Bucket = this.opts.bucket;
    const Key = this.prefix + key;
    const multipart = opts.size > this.threshold;
    // Per-part digests for the multipart confirmation: SHA-256s where S3 keeps SHA-256 part
    // checksums (composite x-amz-checksum-sha256), else MD5s (the multipart ETag).
    const tap = openHashed(source.path, {
      maxBytes: opts.size,
      ...progressOf(opts),
      ...(multipart ? { partSize: this.partSize, partSha256: this.sha256Checksums, partMd5: !this.sha256Checksums } : {}),
    });
    const Metadata = { ...userMetadata, [SHA256_METADATA_KEY]: opts.sha256 };
    const common = {
      Bucket,
      Key,
      Metadata,
      ContentType: opts.contentType ?? 'application/octet-stream',
      ...(this.opts.storageClass !== undefined ? { StorageClass: this.opts.storageClass as import('@aws-sdk/client-s3').StorageClass } : {}),
    };
    const { controller, dispose } = linkedController(opts.signal);
    try {
      if (!multipart) {
        await client.send(
          new s3.PutObjectCommand({
            ...common,
            Body: tap,
            ContentLength: opts.size,
            ...(this.sha256Checksums ? { ChecksumSHA256: hexToB64(opts.sha256) } : {}),
            ...(opts.md5 !== undefined ? { ContentMD5: hexToB64(opts.md5) } : {}),
          }),
          { abortSignal: controller.signal },
        );
      } else {
        const upload = new storage.Upload({
          client,
          params: { ...common, Body: tap, ...(this.sha256Checksums ? { ChecksumAlgorithm: 'SHA256' as const } : {}) },
          partSize: this.partSize,
          queueSize: this.queueSize,
          // We abort ourselves: lib-storage would replace the original error with the abort's
          // (s3rver answers AbortMultipartUpload with 405).
          leavePartsOnError: true,
          abortController: controller,
        });
        try {
          await upload.done();
        } catch (err) {
          if (upload.uploadId !== undefined) {
            await client.send(new s3.AbortMultipartUploadCommand({ Bucket, Key, UploadId: upload.uploadId })).catch(() => undefined);
          }
          throw err;
        }
      }
    } catch (err) {
      tap.destroy();
      if (controller.signal.aborted) throw cancelled(ctx);
      const hashErr = tap.errored;
      if (hashErr instanceof Error && /grew past/.test(hashErr.message)) throw remoteFailure(ctx, hashErr.message, { details: { integrity: true } });
      throw toRemoteError(err, ctx);
    } finally {
      dispose();
    }
    const digests = await tap.settled();
    try {
      if (digests === undefined) throw remoteFailure(ctx, 'the upload completed before the whole source was read', { details: { integrity: true } });
      checkSent(ctx, digests, opts);
      return await this.confirm(key, digests, opts);
    } catch (err) {
      await client.send(new s3.DeleteObjectCommand({ Bucket, Key })).catch(() => undefined);
      throw toRemoteError(err, ctx);
    }
  }

  /** HeadObject after the upload: size, then the strongest checksum the server reports. */
  private async confirm(key: string, d: Digests, opts: PutOptions): Promise<PutResult> {
    const ctx = this.ctx('put', key, opts.signal);
    const { s3, client } = await this.client();
    const head = await client.send(new s3.HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.prefix + key, ChecksumMode: 'ENABLED' }));
    if (head.ContentLength !== opts.size) throw integrityError(ctx, 'size stored', opts.size, head.ContentLength ?? 'none');
    const etag = head.ETag?.replace(/"/g, '');
    let confirmed: { algorithm: ChecksumAlgorithm; value: string } | undefined;
    if (head.ChecksumSHA256 !== undefined && head.ChecksumSHA256 !== '') {
      const [b64, parts] = head.ChecksumSHA256.split('-');
      if (parts === undefined) {
        const actual = b64ToHex(b64 ?? '');
        const expected = d.sha256.toString('hex');
        if (actual !== expected) throw integrityError(ctx, 'x-amz-checksum-sha256', expected, actual);
        confirmed = { algorithm: 'sha256', value: actual };
      } else if (d.partSha256s !== undefined) {
        const actual = `${b64ToHex(b64 ?? '')}-${parts}`;
        const expected = multipartDigest('sha256', d.partSha256s);
        if (actual !== expected) throw integrityError(ctx, 'x-amz-checksum-sha256 (composite)', expected, actual);
        confirmed = { algorithm: 'multipart-sha256', value: actual };
      }
    }
    if (confirmed === undefined && etag !== undefined) {
      if (/^[0-9a-f]{32}$/.test(etag)) {
        const expected = d.md5.toString('hex');
        if (etag !== expected) throw integrityError(ctx, 'ETag (MD5)', expected, etag);
        confirmed = { algorithm: 'md5', value: etag };
      } else if (/^[0-9a-f]{32}-\d+$/.test(etag) && d.partMd5s !== undefined) {
        const expected = multipartDigest('md5', d.partMd5s);
        if (etag !== expected) throw integrityError(ctx, 'ETag (multipart MD5)', expected, etag);
        confirmed = { algorithm: 'multipart-md5', value: etag };
      }
    }
    if (confirmed === undefined) {
      throw remoteFailure(ctx, `the server reported no checksum to confirm the upload with (ETag ${etag ?? 'none'}, no x-amz-checksum-sha256)`, {
        hint: 'set sha256Checksums to match the server: true where it keeps SHA-256 checksums (AWS), false where it only has MD5 ETags (SSE-KMS objects have opaque ETags: keep sha256Checksums on)',
        details: { integrity: true },
      });
    }
    return { key, size: opts.size, ...(etag !== undefined ? { etag } : {}), checksum: confirmed };
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const ctx = this.ctx('get', key, opts.signal);
    validateKey(key, { provider: 's3', prefix: this.prefix });
    validateRange(opts.range);
    throwIfAborted(opts.signal, ctx);
    const { s3, client } = await this.client();
    try {
      const res = await client.send(
        new s3.GetObjectCommand({
          Bucket: this.opts.bucket,
          Key: this.prefix + key,
          ...(opts.range !== undefined ? { Range: `bytes=${opts.range.start}-${opts.range.end}` } : {}),
        }),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
      const body = res.Body as Readable | undefined;
      if (body === undefined) throw remoteFailure(ctx, 'the response has no body');
      const window =
        opts.range !== undefined ? rangeWindow(ctx, opts.range, res.ContentRange, res.ContentLength) : res.ContentLength !== undefined ? { expectedBytes: res.ContentLength } : {};
      return guardDownload(body, ctx, window);
    } catch (err) {
      throw toRemoteError(err, ctx, true);
    }
  }

  async head(key: string, opts: CallOptions = {}): Promise<ObjectHead> {
    const ctx = this.ctx('head', key, opts.signal);
    validateKey(key, { provider: 's3', prefix: this.prefix });
    throwIfAborted(opts.signal, ctx);
    const { s3, client } = await this.client();
    try {
      const h = await client.send(new s3.HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.prefix + key, ChecksumMode: 'ENABLED' }), opts.signal ? { abortSignal: opts.signal } : {});
      this.bucketCheck.found();
      const { user, sha256 } = splitMetadata(h.Metadata);
      const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
      const etag = h.ETag?.replace(/"/g, '');
      if (h.ChecksumSHA256 !== undefined && !h.ChecksumSHA256.includes('-')) checksums.sha256 = b64ToHex(h.ChecksumSHA256);
      else if (sha256 !== undefined) checksums.sha256 = sha256;
      if (etag !== undefined && /^[0-9a-f]{32}$/.test(etag)) checksums.md5 = etag;
      else if (etag !== undefined && /^[0-9a-f]{32}-\d+$/.test(etag)) checksums['multipart-md5'] = etag;
      return {
        key,
        size: h.ContentLength ?? 0,
        lastModified: h.LastModified ?? new Date(0),
        metadata: user,
        checksums,
        ...(etag !== undefined ? { etag } : {}),
        ...(h.ContentType !== undefined ? { contentType: h.ContentType } : {}),
      };
    } catch (err) {
      // HeadObject's 404 has no body: whether the object or the bucket is missing, HeadBucket tells.
      throw await this.bucketCheck.refine(toRemoteError(err, ctx, true), err, ctx, opts.signal);
    }
  }

  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    const ctx = this.ctx('list', prefix, opts.signal);
    validateListPrefix(prefix);
    const { s3, client } = await this.client();
    let token: string | undefined;
    do {
      throwIfAborted(opts.signal, ctx);
      let page: import('@aws-sdk/client-s3').ListObjectsV2CommandOutput;
      try {
        page = await client.send(
          new s3.ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: this.prefix + prefix, MaxKeys: this.pageSize, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
          opts.signal ? { abortSignal: opts.signal } : {},
        );
      } catch (err) {
        throw toRemoteError(err, ctx, false);
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: relativeKey(this.prefix, o.Key), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    const ctx = this.ctx('delete', key, opts.signal);
    validateKey(key, { provider: 's3', prefix: this.prefix });
    throwIfAborted(opts.signal, ctx);
    const { s3, client } = await this.client();
    try {
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.prefix + key }), opts.signal ? { abortSignal: opts.signal } : {});
    } catch (err) {
      const f = failureFacts(err);
      if (f.code === 'NoSuchKey') return;
      throw toRemoteError(err, ctx, false);
    }
  }

  describe(): RemoteDescription {
    const endpoint = displayEndpoint(this.opts.endpoint);
    return {
      provider: 's3',
      location: `s3://${this.opts.bucket}/${this.prefix}`,
      bucket: this.opts.bucket,
      prefix: this.prefix,
      ...(this.opts.region !== undefined ? { region: this.opts.region } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(this.opts.storageClass !== undefined ? { storageClass: this.opts.storageClass } : {}),
    };
  }

  async thaw(key: string, opts: ThawOptions = {}): Promise<ThawOutcome> {
    validateKey(key, { provider: 's3', prefix: this.prefix });
    return thawS3Object(await this.target('thaw', key, opts.signal), key, opts, () => this.head(key, opts));
  }

  async applyLifecycle(rule: LifecycleRule, opts: CallOptions = {}): Promise<LifecycleResult> {
    validateLifecycleRule(rule);
    if (rule.transitionAfterDays === undefined && rule.expireAfterDays === undefined) return { applied: false, reason: 'no transition or expiration was asked for' };
    return applyS3Lifecycle(await this.target('lifecycle', undefined, opts.signal), rule, this.opts.lifecycleStorageClass ?? 'GLACIER', opts);
  }

  private async target(op: string, key?: string, signal?: AbortSignal): Promise<S3Target> {
    const { s3, client } = await this.client();
    return { s3, client, bucket: this.opts.bucket, prefix: this.prefix, ctx: this.ctx(op, key, signal) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sdk = this.sdk;
    this.sdk = undefined;
    if (sdk !== undefined) (await sdk.catch(() => undefined))?.client.destroy();
  }
}

/** A store on an S3 bucket. */
export function createS3Remote(opts: S3RemoteOptions): RemoteStore {
  return new S3Remote(opts);
}
