/**
 * Benchmark child of the encryption benchmark: one restore of the latest archive with our own
 * code, timed inside the child around the call.
 *
 *   encryption-restore.ts --dir D --target T [--recipient age1... --identity FILE]
 *     openRestore({ dataDir: D, config }).fromLatest({ targetDir: T, identity: FILE }), where config is
 *     { compression: { level: 3 }, encryption: { recipients: [R] } } (without --recipient: no
 *     encryption block, and no identity).
 *
 * Reports the time, the CPU time of the whole process (every thread), and when each part started
 * (ms from the start of the call): beforeRestore (after the catalog scan + plan) and the restore's
 * progress phases ('recovery', 'fsync', 'swap'), afterRestore.
 */
import { openRestore } from '../../src/archive/restore-api.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';

runChildMain(async () => {
  const args = childArgs();
  const dataDir = requireArg(args, 'dir');
  const targetDir = requireArg(args, 'target');
  const recipient = args.get('recipient');
  const encrypted = recipient !== undefined && recipient !== '';
  const identity = encrypted ? requireArg(args, 'identity') : undefined;
  const api = openRestore({
    dataDir,
    config: { compression: { level: 3 }, ...(encrypted ? { encryption: { recipients: [recipient] } } : {}) },
  });
  const marks: Record<string, number> = {};
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  const result = await api.fromLatest({
    targetDir,
    ...(identity !== undefined ? { identity } : {}),
    onProgress: (e: { operation: string; phase?: string }) => {
      if (e.operation === 'restore' && e.phase && e.phase !== 'write') marks[e.phase] ??= now();
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
  await api.close();
  reportResult({
    restoreMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    marks,
    linesRestored: result.linesRestored,
    archiveId: result.plan.archive!.manifest.archiveId,
    encryption: result.plan.archive!.manifest.encryption?.scheme ?? null,
  });
});
