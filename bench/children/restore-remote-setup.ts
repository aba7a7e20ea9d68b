/**
 * Benchmark child: one archive of a generated data directory, kept locally and uploaded to an
 * S3 remote on the loopback test server, with our own code.
 *
 *   restore-remote-setup.ts --dir D --level N --endpoint URL --bucket B
 *     new ArchiveApi(offlineHost(D, undefined), { compression: { level: N }, remotes: [s3] }).create()
 */
import { ArchiveApi, offlineHost } from '../../src/archive/archive-api.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';
import { benchS3Remote } from './restore-remote-run.js';

runChildMain(async () => {
  const args = childArgs();
  const dataDir = requireArg(args, 'dir');
  const level = Number(requireArg(args, 'level'));
  const remote = benchS3Remote(requireArg(args, 'endpoint'), requireArg(args, 'bucket'));
  const api = new ArchiveApi(offlineHost(dataDir, undefined), { compression: { level }, remotes: [remote] });
  const t0 = performance.now();
  const created = await api.create();
  const createMs = performance.now() - t0;
  const m = created.manifest;
  reportResult({
    createMs,
    archiveId: created.archiveId,
    file: created.file,
    bytes: created.bytes,
    walLines: m.contents.totalWalEntries,
    uploads: created.uploads ?? null,
  });
});
