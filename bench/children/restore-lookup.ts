/**
 * Benchmark child: how long it takes to pick the archive for a time among many.
 *
 *   restore-lookup.ts --dir D --samples N --seed S
 *
 * Random times T are drawn inside the archives' ranges (a random archive, then a random
 * ms in its [timeRange.start, timeRange.sealedAt]), and for each one, timed separately:
 *   - openRestore({ dataDir: D }).findForTimestamp(T)
 *   - openRestore({ dataDir: D }).plan({ kind: 'timestamp', timestamp: T })
 *   - scanArchiveDir(archiveDir) alone: one read of every manifest (the catalog has no index)
 *   - findForTimestamp(archives, T) of restore-plan.ts alone, on the list already in memory
 * The first call of each is reported apart (cold: module JIT, first file opens).
 * Every answer is checked: the archive found must hold T.
 */
import * as path from 'node:path';
import { scanArchiveDir } from '../../src/archive/copies/local-catalog.js';
import { openRestore } from '../../src/archive/restore-api.js';
import { findForTimestamp } from '../../src/archive/restore/plan.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';
import { createRng } from '../lib/workload.js';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

runChildMain(async () => {
  const args = childArgs();
  const dataDir = path.resolve(requireArg(args, 'dir'));
  const samples = Number(args.get('samples') ?? 20);
  const rng = createRng(Number(args.get('seed') ?? 1));
  const archiveDir = path.join(dataDir, 'archives');
  const api = openRestore({ dataDir });

  const t0 = performance.now();
  const listing = await scanArchiveDir(archiveDir);
  const firstScanMs = performance.now() - t0;
  const archives = listing.archives;
  if (archives.length === 0) throw new Error(`no archives in ${archiveDir}`);
  const pickT = (): number => {
    const a = archives[Math.floor(rng() * archives.length)]!.manifest.timeRange;
    const lo = a.start.getTime();
    const hi = a.sealedAt.getTime();
    return lo + Math.floor(rng() * (hi - lo + 1));
  };
  const holds = (id: string, t: number): boolean => {
    const a = archives.find((x) => x.manifest.archiveId === id);
    return a !== undefined && a.manifest.timeRange.start.getTime() <= t && t <= a.manifest.timeRange.sealedAt.getTime();
  };

  const time = async <T>(fn: () => Promise<T> | T): Promise<[number, T]> => {
    const t = performance.now();
    const r = await fn();
    return [performance.now() - t, r];
  };
  const find: number[] = [];
  const plan: number[] = [];
  const scan: number[] = [];
  const pure: number[] = [];
  let firstFindMs = 0;
  let firstPlanMs = 0;
  for (let i = 0; i <= samples; i++) {
    const t = pickT();
    const [fMs, found] = await time(() => api.findForTimestamp(t));
    if (!holds(found.manifest.archiveId, t)) throw new Error(`findForTimestamp(${t}) gave ${found.manifest.archiveId}, which does not hold it`);
    const [pMs, p] = await time(() => api.plan({ kind: 'timestamp', timestamp: t }));
    if (!holds(p.archive!.manifest.archiveId, t)) throw new Error(`plan(${t}) picked ${p.archive!.manifest.archiveId}, which does not hold it`);
    const [sMs, l] = await time(() => scanArchiveDir(archiveDir));
    if (l.archives.length !== archives.length) throw new Error(`the scan found ${l.archives.length} archives, then ${archives.length}`);
    const [xMs] = await time(() => findForTimestamp(archives, t));
    if (i === 0) {
      firstFindMs = fMs;
      firstPlanMs = pMs;
      continue;
    }
    find.push(fMs);
    plan.push(pMs);
    scan.push(sMs);
    pure.push(xMs);
  }
  reportResult({
    archives: archives.length,
    unreadable: listing.unreadable.length,
    samples,
    firstScanMs,
    firstFindMs,
    firstPlanMs,
    findMs: { median: median(find), min: Math.min(...find), max: Math.max(...find) },
    planMs: { median: median(plan), min: Math.min(...plan), max: Math.max(...plan) },
    scanMs: { median: median(scan), min: Math.min(...scan), max: Math.max(...scan) },
    pureFindMs: { median: median(pure), min: Math.min(...pure), max: Math.max(...pure) },
  });
});
