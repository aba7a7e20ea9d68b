/**
 * Benchmark child: downloads one archive object from the S3 remote into a file with
 * downloadRanged (what a restore's fetch does), timed inside the child.
 *
 *   restore-remote-download.ts --endpoint URL --bucket B --key K --size N --to FILE --parts P --part-mib M
 *     --parts 1 --part-mib <larger than the object>: one plain GET streamed into the file (as before
 *     parallel reads); --parts 4 --part-mib 8: the default.
 */
import { createRemote, type RemoteConfig } from '../../src/remote/registry.js';
import { downloadRanged } from '../../src/remote/ranged-download.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';
import { benchS3Remote } from './restore-remote-run.js';

runChildMain(async () => {
  const args = childArgs();
  const store = createRemote(benchS3Remote(requireArg(args, 'endpoint'), requireArg(args, 'bucket')) as unknown as RemoteConfig);
  // The SDK is loaded and the connection made before the clock starts (a restore has listed by then).
  await store.head(requireArg(args, 'key'));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const got = await downloadRanged(store, requireArg(args, 'key'), requireArg(args, 'to'), {
    size: Number(requireArg(args, 'size')),
    concurrency: Number(requireArg(args, 'parts')),
    partBytes: Number(requireArg(args, 'part-mib')) * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await store.close();
  reportResult({ ms, cpuMs: (cpu.user + cpu.system) / 1000, sha256: got.sha256, parts: got.parts });
});
