/**
 * Benchmark child: one restore of the latest state with our own code, from one source only,
 * timed inside the child.
 *
 *   restore-remote-run.ts --dir D --target T --source local|s3 --endpoint URL --bucket B
 *     openRestore({ dataDir: D, config: { remotes: [s3] } }).fromLatest({ targetDir: T, source })
 *   restore-remote-run.ts --baseline
 *
 * With `--source s3` the archive is fetched from the S3 server (parallel ranged reads into a
 * scratch file beside the target, hashed on the way) and then restored from that file; with
 * `--source local` it is restored from the archive directory's file.
 */
import { openRestore } from '../../src/archive/restore-api.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';

/** The S3 remote of the benchmark (s3rver's fixed credentials). */
export function benchS3Remote(endpoint: string, bucket: string): Record<string, unknown> {
  return { provider: 's3', name: 's3', bucket, prefix: 'bench/', endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } };
}

// Run as a child (its source under tsx, or compiled); imported by other children for its helpers.
if (/restore-remote-run\.[jt]s$/.test(process.argv[1] ?? '')) {
  runChildMain(async () => {
    const args = childArgs();
    if (args.has('baseline')) {
      reportResult({ baseline: true });
      return;
    }
    const dataDir = requireArg(args, 'dir');
    const targetDir = requireArg(args, 'target');
    const source = requireArg(args, 'source');
    const api = openRestore({ dataDir, config: { remotes: [benchS3Remote(requireArg(args, 'endpoint'), requireArg(args, 'bucket'))] } });
    const marks: Record<string, number> = {};
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const now = (): number => performance.now() - t0;
    const result = await api.fromLatest({
      targetDir,
      source,
      onProgress: (e: { operation: string; phase?: string }) => {
        if (e.operation === 'restore' && e.phase) marks[e.phase] ??= now();
      },
      hooks: {
        beforeRestore: () => {
          marks.beforeRestore = now();
        },
        afterRestore: () => {
          marks.afterRestore = now();
        },
      },
    });
    const restoreMs = now();
    const cpu = process.cpuUsage(cpu0);
    reportResult({
      restoreMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      marks,
      source: result.source ?? source,
      linesRestored: result.linesRestored,
      archiveId: result.plan.archive!.manifest.archiveId,
    });
  });
}
