/**
 * The Azure Blob Storage provider, on @azure/storage-blob (12.32), loaded on
 * first use.
 *
 * Uploads are block uploads streamed from the file, each block with its own
 * Content-MD5 that the service checks, confirmed by the blob's size and
 * Content-MD5 once committed (azure-upload.ts).
 */
import type { Readable } from 'node:stream';
import type { BriError } from '../errors.js';
import type { BlobServiceClient, ContainerClient, StoragePipelineOptions } from '@azure/storage-blob';
import {
  storeNames,
  relativeKey,
  splitMetadata,
  validateKey,
  validateLifecycleRule,
  validateListPrefix,
  validateRange,
} from './keys.js';
import { uploadBlocks } from './azure-upload.js';
import { preparePut } from './put-check.js';
import { BucketCheck, displayEndpoint, failureFacts, remoteFailure, throwIfAborted, toRemoteError, type RemoteErrorContext } from './remote-errors.js';
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
} from './remote.js';
import { guardDownload, rangeWindow } from './streams.js';
import { SocketTimeouts, type RemoteTimeouts } from './timeouts.js';

const MiB = 1024 * 1024;
/** Block size. Memory per upload is about (CONCURRENCY + 1) x this. */
export const BLOCK_SIZE_BYTES = 8 * MiB;
/** Blocks staged in parallel. */
export const CONCURRENCY = 4;
/** Blobs per listing page (the service's maximum is 5000). */
export const LIST_PAGE_SIZE = 1000;
/** Azure's largest block. */
const MAX_BLOCK_BYTES = 4000 * MiB;

export type AzureAccessTier = 'Hot' | 'Cool' | 'Cold' | 'Archive';

export interface AzureRemoteOptions {
  /** Container name (must exist). */
  container: string;
  /** Key prefix (default none). */
  prefix?: string;
  /** A storage connection string (AccountName/AccountKey or SharedAccessSignature, optional BlobEndpoint). */
  connectionString?: string;
  /** Account name, with accountKey or sasToken. */
  accountName?: string;
  /** Shared key of the account. */
  accountKey?: string;
  /** A SAS token (with or without the leading '?'). */
  sasToken?: string;
  /** Blob service URL (default https://<accountName>.blob.core.windows.net; Azurite: http://127.0.0.1:10000/devstoreaccount1). */
  endpoint?: string;
  /** Access tier for new blobs (default: the account's). */
  accessTier?: AzureAccessTier;
  /** Block size in bytes (default 8 MiB). */
  blockSizeBytes?: number;
  /** Blocks in flight (default 4). */
  concurrency?: number;
  /** Blobs per listing page (default 1000; small values are for tests). */
  listPageSize?: number;
  /** Tries per request inside the SDK (default 1: operations are retried by `withRetry`; more multiplies its attempts). */
  sdkMaxTries?: number;
  /** Connect and idle limits of every request (default 10 s and 60 s; see timeouts.ts). */
  timeouts?: RemoteTimeouts;
}

type AzureSdk = typeof import('@azure/storage-blob');

/** Reads `Key=Value;` pairs of a connection string. */
function parseConnectionString(cs: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of cs.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** The blob endpoint a connection string leads to, as the SDK derives it (Azurite's for UseDevelopmentStorage). */
function connectionStringEndpoint(cs: Record<string, string>): string | undefined {
  if (cs.UseDevelopmentStorage === 'true') return 'http://127.0.0.1:10000/devstoreaccount1';
  if (cs.BlobEndpoint !== undefined || cs.AccountName === undefined) return cs.BlobEndpoint;
  return `${cs.DefaultEndpointsProtocol ?? 'https'}://${cs.AccountName}.blob.${cs.EndpointSuffix ?? 'core.windows.net'}`;
}

/**
 * The account an endpoint names when the credentials name none (a SAS token), read as the SDK
 * reads it: <account>.blob.<suffix>, else a path-style endpoint's first segment (Azurite).
 */
function accountInEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined) return undefined;
  try {
    const u = new URL(endpoint);
    return /^([a-z0-9]+)(?:-secondary)?\.(?:privatelink\.)?blob\./.exec(u.hostname.toLowerCase())?.[1] ?? u.pathname.split('/').find((s) => s !== '');
  } catch {
    return undefined;
  }
}

class AzureRemote implements RemoteStore {
  readonly provider = 'azure' as const;
  private readonly opts: AzureRemoteOptions;
  private readonly prefix: string;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private readonly pageSize: number;
  private readonly secrets: string[];
  private readonly account: string | undefined;
  private readonly endpoint: string | undefined;
  private readonly sockets: SocketTimeouts;
  private sdk: Promise<{ sdk: AzureSdk; service: BlobServiceClient; container: ContainerClient }> | undefined;
  private closed = false;
  private readonly containerCheck = new BucketCheck(async (signal) => {
    const { container } = await this.client();
    return this.sockets.run(undefined, () => container.exists(signal ? { abortSignal: signal } : {}));
  });

  constructor(opts: AzureRemoteOptions) {
    this.opts = opts;
    this.prefix = storeNames('azure', opts.prefix).prefix;
    this.blockSize = Math.min(MAX_BLOCK_BYTES, Math.max(64 * 1024, opts.blockSizeBytes ?? BLOCK_SIZE_BYTES));
    this.concurrency = Math.max(1, opts.concurrency ?? CONCURRENCY);
    this.pageSize = Math.min(5000, Math.max(1, opts.listPageSize ?? LIST_PAGE_SIZE));
    const cs = opts.connectionString !== undefined ? parseConnectionString(opts.connectionString) : {};
    const named = opts.accountName ?? cs.AccountName;
    this.endpoint = displayEndpoint(opts.endpoint ?? connectionStringEndpoint(cs) ?? (named !== undefined ? `https://${named}.blob.core.windows.net` : undefined));
    this.account = named ?? accountInEndpoint(this.endpoint);
    this.secrets = [opts.connectionString, opts.accountKey, opts.sasToken, opts.sasToken?.replace(/^\?/, ''), cs.AccountKey, cs.SharedAccessSignature].filter(
      (s): s is string => typeof s === 'string' && s !== '',
    );
    this.sockets = new SocketTimeouts(opts.timeouts);
  }

  /** The error context of a call; `signal` is the caller's (an abort is CANCELLED only when it fired). */
  private ctx(op: string, key?: string, signal?: AbortSignal): RemoteErrorContext {
    const where = { timeouts: this.sockets.watch(), ...(this.endpoint !== undefined ? { endpoint: this.endpoint } : {}) };
    return { provider: 'azure', op, ...(key !== undefined ? { key } : {}), bucket: this.opts.container, secrets: this.secrets, ...(signal !== undefined ? { signal } : {}), ...where };
  }

  private client(): Promise<{ sdk: AzureSdk; service: BlobServiceClient; container: ContainerClient }> {
    if (this.closed) return Promise.reject(remoteFailure(this.ctx('init'), 'the store is closed'));
    this.sdk ??= (async () => {
      const sdk: AzureSdk = await import('@azure/storage-blob');
      const o = this.opts;
      // One attempt budget, withRetry's (the SDK's own tries multiplied it, and the error said fewer).
      const pipeline: StoragePipelineOptions = { retryOptions: { maxTries: o.sdkMaxTries ?? 1, retryDelayInMs: 200, maxRetryDelayInMs: 5000 } };
      let service: BlobServiceClient;
      try {
        if (o.connectionString !== undefined) {
          service = sdk.BlobServiceClient.fromConnectionString(o.connectionString, pipeline);
        } else if (o.accountKey !== undefined && this.account !== undefined && this.endpoint !== undefined) {
          service = new sdk.BlobServiceClient(this.endpoint, new sdk.StorageSharedKeyCredential(this.account, o.accountKey), pipeline);
        } else if (o.sasToken !== undefined && this.endpoint !== undefined) {
          service = new sdk.BlobServiceClient(`${this.endpoint}?${o.sasToken.replace(/^\?/, '')}`, undefined, pipeline);
        } else {
          throw new Error('give connectionString, accountName + accountKey, or (accountName or endpoint) + sasToken');
        }
      } catch (err) {
        throw remoteFailure(this.ctx('init'), `cannot build the Azure client: ${(err as Error).message}`, {
          hint: 'check the azure credentials in the remote configuration',
          details: { auth: true },
        });
      }
      return { sdk, service, container: service.getContainerClient(o.container) };
    })();
    this.sdk.catch(() => {
      this.sdk = undefined;
    });
    return this.sdk;
  }

  async put(key: string, source: PutSource, opts: PutOptions): Promise<PutResult> {
    const ctx = this.ctx('put', key, opts.signal);
    const userMetadata = await preparePut(ctx, key, source, opts, { provider: 'azure', prefix: this.prefix });
    throwIfAborted(opts.signal, ctx);
    const { container } = await this.client();
    const settings = { blockSize: this.blockSize, concurrency: this.concurrency, ...(this.opts.accessTier !== undefined ? { accessTier: this.opts.accessTier } : {}) };
    return this.sockets.run(ctx.timeouts, () => uploadBlocks(container, this.prefix + key, source, opts, userMetadata, settings, ctx));
  }

  /** A failure of Get Blob Properties: its 404 has no body, so whether the blob or the container is missing, the container tells. */
  private async missing(err: unknown, ctx: RemoteErrorContext, signal: AbortSignal | undefined): Promise<BriError> {
    return this.containerCheck.refine(toRemoteError(err, ctx, true), err, ctx, signal);
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const ctx = this.ctx('get', key, opts.signal);
    validateKey(key, { provider: 'azure', prefix: this.prefix });
    validateRange(opts.range);
    throwIfAborted(opts.signal, ctx);
    const { container } = await this.client();
    const blob = container.getBlobClient(this.prefix + key);
    try {
      const signal = opts.signal ? { abortSignal: opts.signal } : {};
      const res = await this.sockets.run(ctx.timeouts, () =>
        opts.range !== undefined ? blob.download(opts.range.start, opts.range.end - opts.range.start + 1, signal) : blob.download(0, undefined, signal),
      );
      const body = res.readableStreamBody as Readable | undefined;
      if (body === undefined) throw remoteFailure(ctx, 'the response has no body');
      const window =
        opts.range !== undefined ? rangeWindow(ctx, opts.range, res.contentRange, res.contentLength) : res.contentLength !== undefined ? { expectedBytes: res.contentLength } : {};
      return guardDownload(body, ctx, window);
    } catch (err) {
      throw toRemoteError(err, ctx, true);
    }
  }

  async head(key: string, opts: CallOptions = {}): Promise<ObjectHead> {
    const ctx = this.ctx('head', key, opts.signal);
    validateKey(key, { provider: 'azure', prefix: this.prefix });
    throwIfAborted(opts.signal, ctx);
    const { container } = await this.client();
    try {
      const p = await this.sockets.run(ctx.timeouts, () => container.getBlobClient(this.prefix + key).getProperties(opts.signal ? { abortSignal: opts.signal } : {}));
      this.containerCheck.found();
      const { user, sha256 } = splitMetadata(p.metadata);
      const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
      if (sha256 !== undefined) checksums.sha256 = sha256;
      if (p.contentMD5 !== undefined) checksums.md5 = Buffer.from(p.contentMD5).toString('hex');
      return {
        key,
        size: p.contentLength ?? 0,
        lastModified: p.lastModified ?? new Date(0),
        metadata: user,
        checksums,
        ...(p.etag !== undefined ? { etag: p.etag } : {}),
        ...(p.contentType !== undefined ? { contentType: p.contentType } : {}),
      };
    } catch (err) {
      throw await this.missing(err, ctx, opts.signal);
    }
  }

  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    const ctx = this.ctx('list', prefix, opts.signal);
    validateListPrefix(prefix);
    const { container } = await this.client();
    let continuationToken: string | undefined;
    do {
      throwIfAborted(opts.signal, ctx);
      let page: Awaited<ReturnType<ContainerClient['listBlobFlatSegment']>>;
      try {
        const iter = container
          .listBlobsFlat({ prefix: this.prefix + prefix, ...(opts.signal ? { abortSignal: opts.signal } : {}) })
          .byPage({ maxPageSize: this.pageSize, ...(continuationToken !== undefined ? { continuationToken } : {}) });
        const r = await this.sockets.run(ctx.timeouts, () => iter.next());
        if (r.done === true) return;
        page = r.value;
      } catch (err) {
        throw toRemoteError(err, ctx, false);
      }
      for (const b of page.segment.blobItems) {
        yield { key: relativeKey(this.prefix, b.name), size: b.properties.contentLength ?? 0, lastModified: b.properties.lastModified };
      }
      continuationToken = page.continuationToken === '' ? undefined : page.continuationToken;
    } while (continuationToken !== undefined);
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    const ctx = this.ctx('delete', key, opts.signal);
    validateKey(key, { provider: 'azure', prefix: this.prefix });
    throwIfAborted(opts.signal, ctx);
    const { container } = await this.client();
    try {
      await this.sockets.run(ctx.timeouts, () => container.getBlobClient(this.prefix + key).delete(opts.signal ? { abortSignal: opts.signal } : {}));
    } catch (err) {
      if (failureFacts(err).code === 'BlobNotFound') return;
      throw toRemoteError(err, ctx, false);
    }
  }

  describe(): RemoteDescription {
    return {
      provider: 'azure',
      location: `azure://${this.account ?? '?'}/${this.opts.container}/${this.prefix}`,
      container: this.opts.container,
      prefix: this.prefix,
      ...(this.account !== undefined ? { account: this.account } : {}),
      ...(this.endpoint !== undefined ? { endpoint: this.endpoint } : {}),
      ...(this.opts.accessTier !== undefined ? { accessTier: this.opts.accessTier } : {}),
    };
  }

  /** A blob in the Archive tier is rehydrated to Hot (the archive status says when one is under way). */
  async thaw(key: string, opts: ThawOptions = {}): Promise<ThawOutcome> {
    const ctx = this.ctx('thaw', key, opts.signal);
    validateKey(key, { provider: 'azure', prefix: this.prefix });
    throwIfAborted(opts.signal, ctx);
    const { container } = await this.client();
    const blob = container.getBlobClient(this.prefix + key);
    const signal = opts.signal ? { abortSignal: opts.signal } : {};
    try {
      const p = await this.sockets.run(ctx.timeouts, () => blob.getProperties(signal));
      this.containerCheck.found();
      if (p.archiveStatus?.startsWith('rehydrate-pending')) return 'in-progress';
      if (p.accessTier !== 'Archive') return 'readable';
      await this.sockets.run(ctx.timeouts, () => blob.setAccessTier('Hot', { rehydratePriority: opts.tier === 'expedited' ? 'High' : 'Standard', ...signal }));
      return 'requested';
    } catch (err) {
      throw await this.missing(err, ctx, opts.signal);
    }
  }

  async applyLifecycle(rule: LifecycleRule): Promise<LifecycleResult> {
    validateLifecycleRule(rule);
    return {
      applied: false,
      reason:
        'Azure lifecycle management policies belong to the storage account and are set through Azure Resource Manager (portal, az CLI, Bicep), not the blob API: add a rule for this prefix there',
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sdk = undefined;
    this.sockets.close();
  }
}

/** A store on an Azure Blob Storage container. */
export function createAzureRemote(opts: AzureRemoteOptions): RemoteStore {
  return new AzureRemote(opts);
}
