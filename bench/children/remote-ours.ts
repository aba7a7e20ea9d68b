/**
 * Benchmark child: one upload or download through our RemoteStore (with the
 * retry wrapper, as `createRemote` builds it), timed around the operation.
 *
 * Usage: remote-ours.ts --provider s3|gcs|azure --endpoint URL --op put|get
 *        --file PATH --key KEY [--size N --sha256 HEX] [--out PATH]
 *        [--bucket B] [--account A --account-key K]
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';

function benchConfig(args: Map<string, string>): RemoteConfig {
  const provider = requireArg(args, 'provider');
  const endpoint = requireArg(args, 'endpoint');
  const bucket = args.get('bucket') ?? 'bri-bench';
  if (provider === 's3') return { provider, bucket, endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } };
  if (provider === 'gcs') return { provider, bucket, endpoint };
  if (provider === 'azure') return { provider, container: bucket, endpoint, accountName: requireArg(args, 'account'), accountKey: requireArg(args, 'account-key') };
  throw new Error(`unknown provider ${provider}`);
}

runChildMain(async () => {
  const args = childArgs();
  const store = createRemote(benchConfig(args));
  const op = requireArg(args, 'op');
  const key = requireArg(args, 'key');
  // Load the SDK (our providers import it on first use) and open a connection before timing,
  // as the SDK child does by importing it first.
  await store.head('bench-warm-up/missing').catch(() => undefined);
  const t0 = performance.now();
  if (op === 'put') {
    await store.put(key, { path: requireArg(args, 'file') }, { size: Number(requireArg(args, 'size')), sha256: requireArg(args, 'sha256') });
  } else {
    await pipeline(await store.get(key), createWriteStream(requireArg(args, 'out')));
  }
  const opMs = performance.now() - t0;
  await store.close();
  reportResult({ op, opMs });
});
