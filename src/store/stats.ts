/** Figures about a data directory: segments, lines, bytes, snapshot line, operations by type. */
import * as path from 'node:path';
import { typedIoError } from '../errors.js';
import type { EncryptionKey } from '../format/encryption.js';
import type { OperationAction } from '../format/operation.js';
import { parseWalLine } from '../format/wal-line.js';
import { readSnapshot } from './snapshot-store.js';
import { coldKeysOnDisk } from './cold-tier.js';
import { listSegments } from './layout.js';
import { isEncryptedEntry, lineOperation } from './wal/wal-entry.js';
import { readSegmentLines } from './wal/wal-reader.js';
import { segmentsBeingRemoved } from './wal/wal-cleanup.js';

export interface SegmentStats {
  name: string;
  bytes: number;
  lines: number;
  firstLine: number | null;
  lastLine: number | null;
}

export interface DataDirStats {
  dataDir: string;
  segments: SegmentStats[];
  totalLines: number;
  totalBytes: number;
  invalidLines: number;
  snapshot: { version: number; walLine: number; timestamp: number } | null;
  /** Lines above the snapshot: what recovery replays. */
  linesToReplay: number;
  coldDocuments: number;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  /** null when entries are encrypted and no key was given. */
  byOperation: Record<OperationAction, number> | null;
  encrypted: boolean;
}

/**
 * The figures of `dataDir`. A failed system call (a segment of another user, an unreadable wal/) is an IO_ERROR
 * naming the path at fault with what to do, as createDB says it: this is exported, and no raw errno error may leave.
 */
export async function collectStats(dataDir: string, key?: EncryptionKey): Promise<DataDirStats> {
  try {
    return await gatherStats(dataDir, key);
  } catch (err) {
    throw typedIoError(err, `reading the data directory ${path.resolve(dataDir)}`);
  }
}

async function gatherStats(dataDir: string, key?: EncryptionKey): Promise<DataDirStats> {
  // A cleanup that committed but did not finish (the next open finishes it): its segments are counted out, as the snapshot's walLine already is.
  const leaving = await segmentsBeingRemoved(dataDir);
  const segments = (await listSegments(dataDir)).filter((seg) => !leaving.has(seg.name));
  let snapshot: DataDirStats['snapshot'] = null;
  let encrypted = false;
  try {
    const snap = await readSnapshot(dataDir, key);
    if (snap) snapshot = { version: snap.version, walLine: snap.walLine, timestamp: snap.timestamp };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENCRYPTION_KEY_MISSING') throw err;
    encrypted = true;
  }
  const byOperation: Record<OperationAction, number> = { SET: 0, DELETE: 0, RENAME: 0, SADD: 0, SREM: 0 };
  let opsKnown = true;
  let invalidLines = 0;
  let firstTimestamp: number | null = null;
  let lastTimestamp: number | null = null;
  const out: SegmentStats[] = [];
  let next = 1;
  for (const seg of segments) {
    const s: SegmentStats = { name: seg.name, bytes: seg.size, lines: 0, firstLine: null, lastLine: null };
    for await (const batch of readSegmentLines(seg.path, seg.name, next)) {
      for (const line of batch) {
        s.lines++;
        s.firstLine ??= line.lineNo;
        s.lastLine = line.lineNo;
        next = line.lineNo + 1;
        const parsed = parseWalLine(line.text);
        if (parsed === null) {
          invalidLines++;
          continue;
        }
        firstTimestamp ??= parsed.timestamp;
        lastTimestamp = parsed.timestamp;
        if (isEncryptedEntry(parsed.entry)) encrypted = true;
        if (isEncryptedEntry(parsed.entry) && key === undefined) {
          opsKnown = false;
          continue;
        }
        try {
          byOperation[lineOperation(parsed, key).action]++;
        } catch {
          invalidLines++;
        }
      }
    }
    out.push(s);
  }
  const totalLines = next - 1;
  return {
    dataDir,
    segments: out,
    totalLines,
    totalBytes: out.reduce((a, s) => a + s.bytes, 0),
    invalidLines,
    snapshot,
    linesToReplay: Math.max(0, totalLines - (snapshot?.walLine ?? 0)),
    // Documents, not files: cold/POST/abc.jss and cold/POST/POST_abc.jss both hold POST_abc.
    coldDocuments: (await coldKeysOnDisk(dataDir)).size,
    firstTimestamp,
    lastTimestamp,
    byOperation: opsKnown ? byOperation : null,
    encrypted,
  };
}
