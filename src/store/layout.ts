/** Names and paths inside a BRI data directory. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { notRegularFile } from './files/regular-file.js';

export const WAL_DIR = 'wal';
export const SNAPSHOT_FILE = 'snapshot.jss';
export const SNAPSHOT_TMP = 'snapshot.jss.tmp';
export const COLD_DIR = 'cold';
export const TXN_DIR = 'txn';
export const DEFAULT_WAL_SEGMENT_SIZE = 10 * 1024 * 1024;
/** The lock file (lock.ts), the archive layer's line offset and instance (archive-state.ts), the WAL cleanup journal. */
export const LOCK_FILE = 'bri.lock';
export const ARCHIVE_STATE_FILE = 'bri-archive.json';
export const CLEANUP_JOURNAL = 'wal-cleanup.json';
/**
 * Every entry of a data directory that the store (or the archive layer's bookkeeping) writes,
 * rewrites or removes: nothing else may be kept under these names (an archive directory in wal/
 * would be deleted by the next restore, which rebuilds wal/).
 */
export const DATA_DIR_ENTRIES: readonly string[] = [WAL_DIR, COLD_DIR, TXN_DIR, SNAPSHOT_FILE, SNAPSHOT_TMP, LOCK_FILE, ARCHIVE_STATE_FILE, CLEANUP_JOURNAL];

const SEGMENT_RE = /^(\d{6,})\.wal$/;

/** The directories of a new data directory (a restore builds one beside its target). */
export async function makeDataDirLayout(dataDir: string): Promise<void> {
  for (const d of [WAL_DIR, COLD_DIR, TXN_DIR]) await fsp.mkdir(path.join(dataDir, d), { recursive: true });
}

export function segmentName(index: number): string {
  return `${String(index).padStart(6, '0')}.wal`;
}

/** The segment number in a file name, or null when the name is not a segment's. */
export function segmentIndex(name: string): number | null {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : null;
}

export interface SegmentInfo {
  name: string;
  index: number;
  path: string;
  size: number;
}

/** The segments' names among `names`, by number (the same number twice, as 000001 and 0000001: by name). */
export function inSegmentOrder(names: readonly string[]): { name: string; index: number }[] {
  const numbered = names.flatMap((name) => {
    const index = segmentIndex(name);
    return index === null ? [] : [{ name, index }];
  });
  return numbered.sort((a, b) => a.index - b.index || (a.name < b.name ? -1 : 1));
}

/**
 * Lists the WAL segments in the order of their numbers: for 6-digit names (BRI's) that is the lexical order
 * BRI reads them in; past 999999 a name takes a seventh digit, and as text 1000000.wal would come first.
 */
export async function listSegments(dataDir: string): Promise<SegmentInfo[]> {
  const dir = path.join(dataDir, WAL_DIR);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: SegmentInfo[] = [];
  for (const { name, index } of inSegmentOrder(names)) {
    const st = await fsp.stat(path.join(dir, name));
    // A FIFO, a socket or a device under a segment's name would be opened (to read, or by the rotation that reaches its
    // number, to append) and wait for ever; a directory fails that open at once (EISDIR).
    if (!st.isFile() && !st.isDirectory()) throw notRegularFile(path.join(dir, name), st, 'a WAL segment');
    if (!st.isFile()) continue;
    out.push({ name, index, path: path.join(dir, name), size: st.size });
  }
  return out;
}
