/**
 * Benchmark child: one restore with our own code, timed inside the child.
 *
 *   restore-run.ts --dir D --target T --mode latest
 *     openRestore({ dataDir: D }).fromLatest({ targetDir: T })
 *   restore-run.ts --dir D --target T --mode timestamp --ts MS
 *     openRestore({ dataDir: D }).toTimestamp(MS, { targetDir: T })
 *   restore-run.ts --baseline
 *     loads the modules and reports (the RSS floor of a child)
 *
 * The restore makes one pass over the archive: each member's sha256, decompression,
 * the hash chain, the counts against the manifest and the replay are checked while the
 * data directory is written beside the target; then the PAR2 recovery data is audited,
 * the directory fsynced and swapped in. Where the time goes comes from the restore's
 * hooks and progress events (ms from the start of the call): beforeRestore (after the
 * catalog scan + plan), the start of each phase ('recovery', 'fsync', 'swap'),
 * afterRestore.
 */
import { openRestore } from '../../src/archive/restore-api.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';

runChildMain(async () => {
  const args = childArgs();
  if (args.has('baseline')) {
    reportResult({ baseline: true });
    return;
  }
  const dataDir = requireArg(args, 'dir');
  const targetDir = requireArg(args, 'target');
  const mode = requireArg(args, 'mode');
  const api = openRestore({ dataDir });
  const marks: Record<string, number> = {};
  let firstVerifyMs: number | null = null;
  let lastVerifyMs: number | null = null;
  let firstSegmentMs: number | null = null;
  let lastSegmentMs: number | null = null;
  let segmentsWritten = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const opts = {
    targetDir,
    onProgress: (e: { operation: string; phase?: string }) => {
      if (e.operation === 'verify') {
        firstVerifyMs ??= now();
        lastVerifyMs = now();
      }
      if (e.operation === 'restore' && e.phase && e.phase !== 'write') marks[e.phase] ??= now();
    },
    hooks: {
      beforeRestore: () => {
        marks.beforeRestore = now();
      },
      afterSnapshotRestore: () => {
        marks.afterSnapshotRestore = now();
      },
      afterWalSegmentRestore: () => {
        segmentsWritten++;
        firstSegmentMs ??= now();
        lastSegmentMs = now();
      },
      afterRestore: () => {
        marks.afterRestore = now();
      },
    },
  };
  let result;
  if (mode === 'latest') result = await api.fromLatest(opts);
  else if (mode === 'timestamp') result = await api.toTimestamp(Number(requireArg(args, 'ts')), opts);
  else throw new Error(`bad --mode ${mode}`);
  const restoreMs = now();
  const cpu = process.cpuUsage(cpu0);
  reportResult({
    restoreMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    marks: { ...marks, firstVerifyMs, lastVerifyMs, firstSegmentMs, lastSegmentMs },
    segmentsWritten,
    linesRestored: result.linesRestored,
    lastLine: result.lastLine,
    lastTimestamp: result.lastTimestamp,
    documents: result.documents,
    collections: result.collections,
    archiveId: result.plan.archive!.manifest.archiveId,
    untilTimestamp: result.plan.untilTimestamp,
    targetDir: result.targetDir,
    rssAtEndKb: Math.round(process.memoryUsage().rss / 1024),
  });
});
