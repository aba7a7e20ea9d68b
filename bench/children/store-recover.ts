/**
 * Benchmark child: opens an existing data directory (recovery: snapshot if any,
 * then replay of the WAL above it) and closes it without a snapshot, so that the
 * directory is left as it was. Reports the time of open() and the state size.
 *
 * Usage: store-recover.ts --dir D
 */
import { BriStore } from '../../src/store/store.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';

runChildMain(async () => {
  const args = childArgs();
  const dataDir = requireArg(args, 'dir');
  // With --expose-gc: the heap before and after, collected, so that their difference is the state's own heap.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const store = await BriStore.open({ dataDir, createIfMissing: false, snapshotOnClose: false, fsyncMode: 'batched' });
  const openMs = performance.now() - t0;
  const info = store.info();
  gc?.();
  const mem = process.memoryUsage();
  const tc = performance.now();
  await store.close();
  const closeMs = performance.now() - tc;
  reportResult({
    openMs,
    closeMs,
    totalLines: info.totalLines,
    snapshotLine: info.snapshotLine,
    documents: info.documents,
    collections: info.collections,
    /** Memory still held once open() returned (the peak is maxRssKb). */
    rssAfterOpenKb: Math.round(mem.rss / 1024),
    heapUsedAfterOpenKb: Math.round(mem.heapUsed / 1024),
    /** The heap the open state holds (heap after open minus before, both collected; null without --expose-gc). */
    stateHeapKb: gc ? Math.round((mem.heapUsed - heapBefore) / 1024) : null,
  });
});
