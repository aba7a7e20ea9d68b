/**
 * The Azure provider's upload: a block upload streamed from the file, blocks
 * of `blockSize`, at most `concurrency` in flight (memory about
 * (concurrency + 1) x block size), then one Put Block List. Each block is
 * sent with its own Content-MD5, which the service checks before it accepts
 * the block (and echoes back; we compare). The block list is committed with
 * the whole file's MD5 as the blob's Content-MD5, and the upload counts only
 * once the blob's properties report the committed size and that MD5.
 *
 * This is what `BlockBlobClient.uploadStream` does, plus the per-block MD5:
 * for Put Block List the service stores x-ms-blob-content-md5 without
 * checking it against the data (the blocks were checked one by one), so
 * uploadStream's blocks, sent without an MD5, would leave the blob's
 * Content-MD5 an unverified echo of ours.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { SHA256_METADATA_KEY } from './keys.js';
import { checkSent, integrityError } from './put-check.js';
import { cancelled, failureFacts, remoteFailure, toRemoteError, type RemoteErrorContext } from './remote-errors.js';
import type { PutOptions, PutResult, PutSource } from './remote.js';
import { openHashed, progressOf } from './streams.js';

/** How the blocks go up. */
export interface BlockUploadSettings {
  blockSize: number;
  concurrency: number;
  /** Access tier for the new blob (default: the account's). */
  accessTier?: string;
}

/**
 * Uploads `source` as the block blob `name` of `container` and confirms it
 * (see the module comment). `userMetadata` is the checked user metadata; the
 * SHA-256 is added to it. On failure nothing is visible: staged blocks that
 * were never committed are discarded by the service after a week.
 */
export async function uploadBlocks(
  container: ContainerClient,
  name: string,
  source: PutSource,
  opts: PutOptions,
  userMetadata: Record<string, string>,
  settings: BlockUploadSettings,
  ctx: RemoteErrorContext,
): Promise<PutResult> {
  const key = ctx.key ?? name;
  const blob = container.getBlockBlobClient(name);
  const tap = openHashed(source.path, { maxBytes: opts.size, ...progressOf(opts) });
  const nonce = randomBytes(6).toString('hex');
  const ids: string[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  const abortSignal = opts.signal;
  const stage = async (data: Buffer): Promise<void> => {
    while (inflight.size >= settings.concurrency) await Promise.race(inflight);
    if (failure !== undefined) throw failure;
    const id = Buffer.from(`${nonce}-${String(ids.length).padStart(7, '0')}`).toString('base64');
    ids.push(id);
    const md5 = createHash('md5').update(data).digest();
    const p = blob
      .stageBlock(id, data, data.length, { transactionalContentMD5: md5, ...(abortSignal ? { abortSignal } : {}) })
      .then((res) => {
        // The service checked the block against our MD5; it answers with the MD5 it computed.
        if (res.contentMD5 !== undefined && !Buffer.from(res.contentMD5).equals(md5)) {
          throw integrityError(ctx, `block ${ids.indexOf(id)} Content-MD5`, md5.toString('hex'), Buffer.from(res.contentMD5).toString('hex'));
        }
      })
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  try {
    let buf = Buffer.allocUnsafe(Math.min(settings.blockSize, Math.max(1, opts.size)));
    let fill = 0;
    for await (const c of tap) {
      const chunk = c as Buffer;
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(buf.length - fill, chunk.length - off);
        chunk.copy(buf, fill, off, off + n);
        fill += n;
        off += n;
        if (fill === buf.length) {
          await stage(buf);
          buf = Buffer.allocUnsafe(settings.blockSize);
          fill = 0;
        }
      }
      if (failure !== undefined) throw failure;
    }
    if (fill > 0) await stage(buf.subarray(0, fill));
    await Promise.all(inflight);
    if (failure !== undefined) throw failure;
    const digests = await tap.settled();
    if (digests === undefined) throw remoteFailure(ctx, 'the source ended unexpectedly', { details: { integrity: true } });
    checkSent(ctx, digests, opts);
    await blob.commitBlockList(ids, {
      blobHTTPHeaders: { blobContentType: opts.contentType ?? 'application/octet-stream', blobContentMD5: digests.md5 },
      metadata: { ...userMetadata, [SHA256_METADATA_KEY]: opts.sha256 },
      ...(settings.accessTier !== undefined ? { tier: settings.accessTier } : {}),
      ...(abortSignal ? { abortSignal } : {}),
    });
    try {
      const props = await blob.getProperties();
      if (props.contentLength !== opts.size) throw integrityError(ctx, 'size stored', opts.size, props.contentLength ?? 'none');
      const md5 = digests.md5.toString('hex');
      const stored = props.contentMD5 !== undefined ? Buffer.from(props.contentMD5).toString('hex') : 'none';
      if (stored !== md5) throw integrityError(ctx, 'Content-MD5', md5, stored);
      return { key, size: opts.size, ...(props.etag !== undefined ? { etag: props.etag } : {}), checksum: { algorithm: 'md5', value: md5 } };
    } catch (err) {
      await blob.deleteIfExists().catch(() => undefined);
      throw err;
    }
  } catch (err) {
    tap.destroy();
    await Promise.allSettled(inflight);
    if (opts.signal?.aborted) throw cancelled(ctx);
    const hashErr = tap.errored;
    if (hashErr instanceof Error && /grew past/.test(hashErr.message)) throw remoteFailure(ctx, hashErr.message, { details: { integrity: true } });
    const f = failureFacts(err);
    // Azure answers Md5Mismatch; Azurite InvalidOperation "Provided contentMD5 doesn't match."
    if (f.code === 'Md5Mismatch' || f.code === 'InvalidMd5' || (f.status === 400 && /md5/i.test(f.message))) {
      throw remoteFailure(ctx, `Azure refused a block: its MD5 does not match the bytes received (${f.code ?? f.status})`, { details: { integrity: true } });
    }
    const mapped = toRemoteError(err, ctx, false);
    // A server that refuses a request (missing container) may reset the connection before it has
    // read the body: the client sees ECONNRESET, not the 404. Ask once, so the error says which
    // (not after a timeout: a server that did not answer the upload would hold the question too).
    if (f.status === undefined && mapped.details.timedOut === undefined && !(await container.exists().catch(() => true))) {
      throw toRemoteError(Object.assign(new Error('The specified container does not exist.'), { statusCode: 404, code: 'ContainerNotFound' }), ctx, false);
    }
    throw mapped;
  }
}
