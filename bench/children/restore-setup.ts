/**
 * Benchmark child: makes the archives that the restore benchmark restores from,
 * with our own code.
 *
 * Usage:
 *   restore-setup.ts --mode big --dir D --level N
 *     One archive of the data directory D (a generated WAL, no process has it open):
 *     `new ArchiveApi(offlineHost(D, undefined), { compression: { level: N } }).create()`,
 *     PAR2 recovery data at the default 10%. Reports the archive and its manifest's ranges.
 *   restore-setup.ts --mode many --dir D --count N --lines K [--level 1]
 *     N chained archives of one instance: createDB on D ('batched' fsync), then N times
 *     "write K operations, db.archive.create()", with
 *     `{ compression: { level: 1 }, errorCorrection: { enabled: false } }`.
 *   restore-setup.ts --baseline
 *     Loads the modules and reports (the RSS floor of a child).
 */
import * as fs from 'node:fs';
import { ArchiveApi, offlineHost } from '../../src/archive/archive-api.js';
import type { Operation } from '../../src/format/operation.js';
import { createDB, type BriDB } from '../../src/db.js';
import type { WriteAck } from '../../src/store/store.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';
import { Workload } from '../lib/workload.js';

function apply(db: BriDB, op: Operation): Promise<WriteAck> {
  switch (op.action) {
    case 'SET':
      return db.set(op.target, op.value);
    case 'DELETE':
      return db.delete(op.target);
    case 'RENAME':
      return db.rename(op.oldKey, op.target);
    case 'SADD':
      return db.sAdd(op.target, op.member);
    case 'SREM':
      return db.sRem(op.target, op.member);
  }
}

async function big(dataDir: string, level: number): Promise<void> {
  const api = new ArchiveApi(offlineHost(dataDir, undefined), { compression: { level } });
  const t0 = performance.now();
  const created = await api.create();
  const createMs = performance.now() - t0;
  const m = created.manifest;
  reportResult({
    createMs,
    archiveId: created.archiveId,
    file: created.file,
    bytes: created.bytes,
    level: m.compression.level,
    errorCorrection: m.errorCorrection,
    walLines: m.contents.totalWalEntries,
    walBytes: m.compression.originalSize - m.contents.snapshot.originalSize,
    segments: m.contents.segments.map((s) => ({ segment: s.segment, entries: s.entries, firstTimestamp: s.firstTimestamp, lastTimestamp: s.lastTimestamp, originalSize: s.originalSize })),
    timeRange: { start: m.timeRange.start.getTime(), end: m.timeRange.end.getTime(), sealedAt: m.timeRange.sealedAt.getTime(), walLines: m.timeRange.walLines },
    documentsAtSnapshot: m.stats.documentsAtSnapshot,
  });
}

async function many(dataDir: string, count: number, lines: number, level: number): Promise<void> {
  const t0 = performance.now();
  const db = await createDB({
    storeConfig: { dataDir, fsyncMode: 'batched', snapshotOnClose: false, archive: { compression: { level }, errorCorrection: { enabled: false } } },
  });
  const workload = new Workload(7);
  const createMs: number[] = [];
  const ranges: Array<{ id: string; start: number; sealedAt: number }> = [];
  let bytes = 0;
  try {
    for (let i = 0; i < count; i++) {
      const acks: Promise<WriteAck>[] = [];
      for (let j = 0; j < lines; j++) acks.push(apply(db, workload.next()));
      await Promise.all(acks);
      const t = performance.now();
      const created = await db.archive.create();
      createMs.push(performance.now() - t);
      bytes += created.bytes;
      ranges.push({ id: created.archiveId, start: created.manifest.timeRange.start.getTime(), sealedAt: created.manifest.timeRange.sealedAt.getTime() });
    }
  } finally {
    await db.close();
  }
  const files = fs.readdirSync(db.archive.archiveDir).filter((n) => n.endsWith('.bri'));
  const sorted = [...createMs].sort((a, b) => a - b);
  reportResult({
    totalMs: performance.now() - t0,
    count,
    linesPerArchive: lines,
    archiveFiles: files.length,
    archiveDir: db.archive.archiveDir,
    bytes,
    createMsMedian: sorted[sorted.length >> 1],
    createMsMax: sorted[sorted.length - 1],
    createMsSum: createMs.reduce((a, b) => a + b, 0),
    /** Median create time in each tenth of the loop (does it grow with the catalog?). */
    createMsByTenth: Array.from({ length: Math.min(10, count) }, (_, k) => {
      const part = createMs.slice(Math.floor((k * count) / Math.min(10, count)), Math.floor(((k + 1) * count) / Math.min(10, count))).sort((a, b) => a - b);
      return part[part.length >> 1];
    }),
    ranges,
  });
}

runChildMain(async () => {
  const args = childArgs();
  if (args.has('baseline')) {
    reportResult({ baseline: true });
    return;
  }
  const mode = requireArg(args, 'mode');
  const dataDir = requireArg(args, 'dir');
  if (mode === 'big') await big(dataDir, Number(requireArg(args, 'level')));
  else if (mode === 'many') await many(dataDir, Number(requireArg(args, 'count')), Number(requireArg(args, 'lines')), Number(args.get('level') ?? 1));
  else throw new Error(`bad --mode ${mode}`);
});
