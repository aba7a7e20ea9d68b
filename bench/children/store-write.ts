/**
 * Benchmark child: opens a fresh store and writes N operations as fast as it can,
 * `--window` un-awaited writes at a time so that group commit can batch them, then
 * flushes. Only the writes are timed (the workload is generated between windows).
 *
 * Usage: store-write.ts --dir D --lines N --fsync batched|always [--window 1000]
 *        [--seed 1] [--segment-size BYTES] [--batch-interval MS]
 */
import type { Operation } from '../../src/format/operation.js';
import { BriStore, type WriteAck } from '../../src/store/store.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';
import { Workload } from '../lib/workload.js';

function apply(store: BriStore, op: Operation): Promise<WriteAck> {
  switch (op.action) {
    case 'SET':
      return store.set(op.target, op.value);
    case 'DELETE':
      return store.delete(op.target);
    case 'RENAME':
      return store.rename(op.oldKey, op.target);
    case 'SADD':
      return store.sAdd(op.target, op.member);
    case 'SREM':
      return store.sRem(op.target, op.member);
  }
}

runChildMain(async () => {
  const args = childArgs();
  const dataDir = requireArg(args, 'dir');
  const lines = Number(requireArg(args, 'lines'));
  const fsyncMode = requireArg(args, 'fsync');
  if (fsyncMode !== 'batched' && fsyncMode !== 'always') throw new Error(`bad --fsync ${fsyncMode}`);
  const window = Number(args.get('window') ?? 1000);
  const seed = Number(args.get('seed') ?? 1);
  const segmentSize = args.has('segment-size') ? Number(args.get('segment-size')) : undefined;
  const batchIntervalMs = args.has('batch-interval') ? Number(args.get('batch-interval')) : undefined;

  const t0 = performance.now();
  const store = await BriStore.open({ dataDir, fsyncMode, walSegmentSize: segmentSize, batchIntervalMs, snapshotOnClose: false });
  const openMs = performance.now() - t0;
  let batches = 0;
  let maxBatch = 0;
  store.onAppend((n) => {
    batches++;
    if (n > maxBatch) maxBatch = n;
  });

  const workload = new Workload(seed);
  const ops: Operation[] = [];
  const acks: Promise<WriteAck>[] = [];
  let writeMs = 0;
  for (let done = 0; done < lines; ) {
    const n = Math.min(window, lines - done);
    ops.length = 0;
    for (let j = 0; j < n; j++) ops.push(workload.next());
    const t = performance.now();
    acks.length = 0;
    for (let j = 0; j < n; j++) acks.push(apply(store, ops[j]!));
    await Promise.all(acks);
    writeMs += performance.now() - t;
    done += n;
  }
  const tf = performance.now();
  await store.flush();
  const flushMs = performance.now() - tf;
  const info = store.info();
  const tc = performance.now();
  await store.close();
  const closeMs = performance.now() - tc;
  reportResult({
    lines,
    fsyncMode,
    window,
    /** Writes issued until every one is acknowledged, plus the final flush (fdatasync). */
    writeMs: writeMs + flushMs,
    flushMs,
    openMs,
    closeMs,
    totalLines: info.totalLines,
    lastSegment: info.segment,
    documents: info.documents,
    batches,
    maxBatch,
    counts: workload.counts,
  });
});
