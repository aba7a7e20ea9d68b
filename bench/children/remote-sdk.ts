/**
 * Benchmark child: the same upload or download done the plain way with each
 * provider's SDK, as its documentation shows it (no hashing, no confirmation),
 * timed around the operation.
 *
 * - s3: lib-storage `Upload` from a file stream (8 MiB parts, 4 in flight, as ours),
 *   GetObject piped to a file. Checksums WHEN_REQUIRED (s3rver stores aws-chunked bodies otherwise).
 * - gcs: `file.createWriteStream({ resumable: true, chunkSize: 8 MiB })` (the library's crc32c
 *   validation on, its default), `file.createReadStream()` piped to a file.
 * - azure: `BlockBlobClient.uploadStream` (8 MiB buffers, 4 in flight), `download()` piped to a file.
 *
 * Usage: remote-sdk.ts (same flags as remote-ours.ts). The SDK is imported before the
 * timer starts; remote-ours.ts warms up the same way (one HEAD of a missing key).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';

const MiB = 1024 * 1024;

runChildMain(async () => {
  const args = childArgs();
  const provider = requireArg(args, 'provider');
  const endpoint = requireArg(args, 'endpoint');
  const bucket = args.get('bucket') ?? 'bri-bench';
  const op = requireArg(args, 'op');
  const key = requireArg(args, 'key');
  const file = args.get('file');
  const out = args.get('out');
  let opMs = 0;
  if (provider === 's3') {
    const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const { Upload } = await import('@aws-sdk/lib-storage');
    const client = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const t0 = performance.now();
    if (op === 'put') {
      await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file!) }, partSize: 8 * MiB, queueSize: 4 }).done();
    } else {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      await pipeline(res.Body as Readable, createWriteStream(out!));
    }
    opMs = performance.now() - t0;
    client.destroy();
  } else if (provider === 'gcs') {
    const { Storage } = await import('@google-cloud/storage');
    const f = new Storage({ apiEndpoint: endpoint, projectId: 'bri-bench' }).bucket(bucket).file(key);
    const t0 = performance.now();
    if (op === 'put') await pipeline(createReadStream(file!), f.createWriteStream({ resumable: true, chunkSize: 8 * MiB }));
    else await pipeline(f.createReadStream(), createWriteStream(out!));
    opMs = performance.now() - t0;
  } else if (provider === 'azure') {
    const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
    const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(requireArg(args, 'account'), requireArg(args, 'account-key')));
    const blob = service.getContainerClient(bucket).getBlockBlobClient(key);
    const t0 = performance.now();
    if (op === 'put') await blob.uploadStream(createReadStream(file!, { highWaterMark: MiB }), 8 * MiB, 4);
    else await pipeline((await blob.download(0)).readableStreamBody as Readable, createWriteStream(out!));
    opMs = performance.now() - t0;
  } else {
    throw new Error(`unknown provider ${provider}`);
  }
  reportResult({ op, opMs });
});
