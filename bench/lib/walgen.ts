/**
 * Writes a synthetic WAL of N lines into a data directory, directly (not through
 * the store) and fast: BRI's line format, a correct pointer chain from the genesis
 * pointer, segments rotated at walSegmentSize exactly as the writer does, and big
 * buffered writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeOperation, type Operation } from '../../src/format/operation.js';
import { computePointer } from '../../src/format/pointer.js';
import { serializeWalLine } from '../../src/format/wal-line.js';
import { DEFAULT_WAL_SEGMENT_SIZE, segmentName, WAL_DIR } from '../../src/store/layout.js';
import { createRng, Workload, type WorkloadCounts } from './workload.js';

/** Bytes gathered before one write() call. */
const WRITE_BUFFER_BYTES = 8 * 1024 * 1024;
/** The first lines are also built with the project's own codecs and compared, so the fast path cannot drift. */
const SELF_CHECK_LINES = 2000;

/**
 * The entry JSS of an operation, as encodeOperation() writes it, without the generic
 * JSS walk: the workload's operations hold only strings (no txn), so JSS is plain JSON
 * in BRI's key order.
 */
function entryJss(op: Operation): string {
  switch (op.action) {
    case 'SET':
      return JSON.stringify({ action: op.action, target: op.target, value: op.value });
    case 'DELETE':
      return JSON.stringify({ action: op.action, target: op.target });
    case 'RENAME':
      return JSON.stringify({ action: op.action, target: op.target, oldKey: op.oldKey });
    case 'SADD':
    case 'SREM':
      return JSON.stringify({ action: op.action, target: op.target, member: op.member });
  }
}

export interface GenerateWalOptions {
  dataDir: string;
  lines: number;
  /** Default 10 MiB, as BRI. */
  segmentSize?: number;
  /** Default 1. */
  seed?: number;
  /** Timestamp of the first line (default: now minus one ms per line). */
  startTimestamp?: number;
}

export interface GeneratedWal {
  lines: number;
  bytes: number;
  segments: string[];
  lastPointer: string;
  counts: WorkloadCounts;
  ms: number;
}

/** Generates the WAL. The data directory's wal/ must be absent or empty. */
export function generateWal(opts: GenerateWalOptions): GeneratedWal {
  const started = performance.now();
  const segmentSize = opts.segmentSize ?? DEFAULT_WAL_SEGMENT_SIZE;
  const walDir = path.join(opts.dataDir, WAL_DIR);
  fs.mkdirSync(walDir, { recursive: true });
  if (fs.readdirSync(walDir).length > 0) throw new Error(`${walDir} is not empty`);

  const rng = createRng((opts.seed ?? 1) ^ 0x9e3779b9);
  let ts = opts.startTimestamp ?? Date.now() - opts.lines;
  const workload = new Workload(opts.seed ?? 1, () => ts);

  const segments: string[] = [];
  let segment = 0;
  let fd = -1;
  let segBytes = 0;
  const buf = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  let used = 0;
  let total = 0;
  let prev = '';

  const openSegment = (): void => {
    const name = segmentName(segment);
    fd = fs.openSync(path.join(walDir, name), 'w', 0o644);
    segments.push(name);
    segBytes = 0;
  };
  const writeOut = (end: number): void => {
    let off = 0;
    while (off < end) off += fs.writeSync(fd, buf, off, end - off);
  };

  openSegment();
  for (let i = 0; i < opts.lines; i++) {
    ts += rng() < 0.5 ? 1 : 0; // ~2 lines per ms, like a busy writer
    const op = workload.next();
    const entry = entryJss(op);
    if (i < SELF_CHECK_LINES && entry !== encodeOperation(op)) throw new Error(`walgen: entry differs from encodeOperation: ${entry}`);
    const pointer = computePointer(prev, entry);
    prev = pointer;
    const line = `${ts}|${pointer}|${entry}\n`;
    if (i < SELF_CHECK_LINES && line !== `${serializeWalLine({ timestamp: ts, pointer, entry })}\n`) throw new Error('walgen: line format differs');
    // Worst case 3 bytes per UTF-16 unit: make room first.
    if (used + line.length * 3 > buf.length) {
      writeOut(used);
      used = 0;
    }
    const len = buf.write(line, used, 'utf8');
    // Rotate before a line that would push the segment past its size (as the writer does).
    if (segBytes > 0 && segBytes + len > segmentSize) {
      writeOut(used);
      fs.closeSync(fd);
      segment++;
      openSegment();
      buf.copy(buf, 0, used, used + len);
      used = 0;
    }
    used += len;
    segBytes += len;
    total += len;
  }
  writeOut(used);
  fs.closeSync(fd);
  return { lines: opts.lines, bytes: total, segments, lastPointer: prev, counts: { ...workload.counts }, ms: performance.now() - started };
}

/** The segment files of a data directory, in order (absolute paths), and their total size. */
export function walFiles(dataDir: string): { files: string[]; bytes: number } {
  const walDir = path.join(dataDir, WAL_DIR);
  const files = fs
    .readdirSync(walDir)
    .filter((n) => /^\d{6,}\.wal$/.test(n))
    .sort()
    .map((n) => path.join(walDir, n));
  let bytes = 0;
  for (const f of files) bytes += fs.statSync(f).size;
  return { files, bytes };
}
