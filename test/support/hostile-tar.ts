/**
 * A tiny raw tar writer and reader for forging hostile archives: 512-byte
 * ustar headers with any name, type, size or link, pax and GNU long-name
 * records, and correct checksums (unless asked to break them), plus a
 * layout reader that says where each member's header and data are. And a
 * watch on the `fs` module that records every call that would write, to
 * prove that reading an archive writes nothing anywhere.
 */
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { createDB } from '../../src/db.js';
import type { CreatedArchive } from '../../src/archive/create/create.js';

export const BLOCK = 512;

/** Typeflags: '0' file, '1' hard link, '2' symlink, '3' char device, '4' block device, '5' directory, '6' fifo, '7' contiguous, 'x' pax, 'g' global pax, 'L' GNU long name. */
export type TypeFlag = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | 'x' | 'g' | 'L' | 'K' | '\0' | string;

export interface HeaderFields {
  name: string;
  /** ustar prefix (joined to the name with '/' by readers). */
  prefix?: string;
  type?: TypeFlag;
  /** The size written in the header (defaults to the data's length). */
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** 'ustar' (POSIX, default), 'gnu' (old GNU magic) or 'none' (v7, no magic). */
  magic?: 'ustar' | 'gnu' | 'none';
  /** Store a wrong checksum on purpose. */
  badChecksum?: boolean;
  /** Edit the header bytes after the fields are laid out and before the checksum is computed. */
  patch?: (header: Buffer) => void;
}

function putString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`"${value}" does not fit in ${length} bytes`);
  bytes.copy(buf, offset);
}

/** An octal field of `length` bytes: digits, then a NUL. */
function putOctal(buf: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new Error(`${value} does not fit in an octal field of ${length} bytes`);
  buf.write(digits + '\0', offset, 'latin1');
}

export function checksumOf(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum;
}

/** Writes the checksum field of a 512-byte header (in place) and returns the header. */
export function fixChecksum(header: Buffer): Buffer {
  header.write(checksumOf(header).toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return header;
}

/** One 512-byte header with a correct checksum (unless badChecksum). */
export function header(fields: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK);
  putString(h, 0, 100, fields.name);
  putOctal(h, 100, 8, fields.mode ?? 0o644);
  putOctal(h, 108, 8, fields.uid ?? 0);
  putOctal(h, 116, 8, fields.gid ?? 0);
  putOctal(h, 124, 12, fields.size ?? 0);
  putOctal(h, 136, 12, fields.mtime ?? 1_700_000_000);
  h.write(fields.type ?? '0', 156, 'latin1');
  if (fields.linkname !== undefined) putString(h, 157, 100, fields.linkname);
  const magic = fields.magic ?? 'ustar';
  if (magic === 'ustar') h.write('ustar\x0000', 257, 'latin1');
  else if (magic === 'gnu') h.write('ustar  \x00', 257, 'latin1');
  if (magic !== 'none') {
    putOctal(h, 329, 8, fields.devmajor ?? 0);
    putOctal(h, 337, 8, fields.devminor ?? 0);
    if (fields.prefix !== undefined) putString(h, 345, 155, fields.prefix);
  }
  fields.patch?.(h);
  fixChecksum(h);
  if (fields.badChecksum) h.write('0000001\0', 148, 'latin1');
  return h;
}

/** Data padded with zeros to a whole number of blocks. */
export function pad(data: Buffer): Buffer {
  const rem = data.length % BLOCK;
  return rem === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rem)]);
}

/** Pax extended header records ("<len> <key>=<value>\n", the length counting itself). */
export function paxRecords(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    const len = Buffer.byteLength(body);
    let total = len + String(len).length;
    if (String(total).length !== String(len).length) total = len + String(total).length;
    parts.push(Buffer.from(`${total}${body}`, 'utf8'));
  }
  return Buffer.concat(parts);
}

export interface Entry extends Omit<HeaderFields, 'size'> {
  data?: Buffer;
  /** The size to declare in the header; the data written is `data` regardless (to forge disagreements). */
  declaredSize?: number;
  /** Pax records put in an 'x' header just before this entry. */
  pax?: Record<string, string>;
  /** A GNU long name ('L') record put just before this entry. */
  gnuLongName?: string;
}

/** One entry as bytes: optional pax / GNU records, the header, the padded data. */
export function entryBytes(e: Entry): Buffer {
  const parts: Buffer[] = [];
  if (e.pax) {
    const rec = paxRecords(e.pax);
    parts.push(header({ name: 'PaxHeaders/' + e.name.slice(0, 80), type: 'x', size: rec.length }), pad(rec));
  }
  if (e.gnuLongName !== undefined) {
    const rec = Buffer.from(e.gnuLongName + '\0', 'utf8');
    parts.push(header({ name: '././@LongLink', type: 'L', size: rec.length, magic: 'gnu' }), pad(rec));
  }
  const data = e.data ?? Buffer.alloc(0);
  const { data: _d, declaredSize, pax: _p, gnuLongName: _g, ...fields } = e;
  parts.push(header({ ...fields, size: declaredSize ?? data.length }));
  if (data.length > 0) parts.push(pad(data));
  return Buffer.concat(parts);
}

/** A whole tar: the entries, then `endBlocks` zero blocks (2 by POSIX). */
export function buildTar(entries: Entry[], opts: { endBlocks?: number } = {}): Buffer {
  return Buffer.concat([...entries.map(entryBytes), Buffer.alloc(BLOCK * (opts.endBlocks ?? 2))]);
}

export interface MemberLayout {
  name: string;
  type: string;
  /** Offset of the member's (ustar) header block. */
  headerOffset: number;
  /** Offset of its data. */
  dataOffset: number;
  size: number;
}

/** Where each member of a plain ustar file (as this project writes them) lies; stops at the first zero block. */
export function tarLayout(buf: Buffer): { members: MemberLayout[]; endOffset: number } {
  const members: MemberLayout[] = [];
  let off = 0;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const nameEnd = h.indexOf(0);
    let name = h.toString('utf8', 0, nameEnd < 0 || nameEnd > 100 ? 100 : nameEnd);
    const prefix = h.toString('utf8', 345, 500).replace(/\0.*$/s, '');
    if (prefix) name = `${prefix}/${name}`;
    const size = parseInt(h.toString('latin1', 124, 136).replace(/[\0 ]+$/, ''), 8) || 0;
    members.push({ name, type: String.fromCharCode(h[156]!), headerOffset: off, dataOffset: off + BLOCK, size });
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return { members, endOffset: off };
}

/** The members of a well-formed tar, by name, with their data. */
export function tarMembers(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const m of tarLayout(buf).members) out.set(m.name, Buffer.from(buf.subarray(m.dataOffset, m.dataOffset + m.size)));
  return out;
}

// ---------------------------------------------------------------------------
// Watching for writes: every fs entry point that creates, changes or removes
// something is wrapped while the watch is on (the ESM bindings of node:fs and
// node:fs/promises are re-synced so that `import * as fs` sees the wrappers).

const require = createRequire(import.meta.url);
const fsCjs = require('node:fs') as Record<string, unknown>;
const fspCjs = require('node:fs/promises') as Record<string, unknown>;

const WRITING_SYNC_OR_CB = [
  'appendFile', 'appendFileSync', 'chmod', 'chmodSync', 'chown', 'chownSync', 'copyFile', 'copyFileSync', 'cp', 'cpSync',
  'createWriteStream', 'link', 'linkSync', 'mkdir', 'mkdirSync', 'mkdtemp', 'mkdtempSync', 'rename', 'renameSync', 'rm', 'rmSync',
  'rmdir', 'rmdirSync', 'symlink', 'symlinkSync', 'truncate', 'truncateSync', 'unlink', 'unlinkSync', 'utimes', 'utimesSync',
  'writeFile', 'writeFileSync',
] as const;
const WRITING_PROMISES = ['appendFile', 'chmod', 'chown', 'copyFile', 'cp', 'link', 'mkdir', 'mkdtemp', 'rename', 'rm', 'rmdir', 'symlink', 'truncate', 'unlink', 'utimes', 'writeFile'] as const;

function isWriteFlag(flags: unknown): boolean {
  if (flags === undefined || flags === null) return false;
  if (typeof flags === 'number') return (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_APPEND)) !== 0;
  return typeof flags === 'string' && flags !== 'r' && flags !== 'rs' && flags !== 'sr';
}

export interface WriteWatch {
  /** "<function> <first argument>" for each writing call seen. */
  calls: string[];
  stop(): void;
}

let active: WriteWatch | null = null;

/** Starts recording writing fs calls (one watch at a time); stop() restores the originals. */
export function watchWrites(): WriteWatch {
  if (active) throw new Error('a write watch is already on');
  const calls: string[] = [];
  const restore: Array<() => void> = [];
  const wrap = (obj: Record<string, unknown>, key: string, label: string, when: (args: unknown[]) => boolean = () => true) => {
    const orig = obj[key];
    if (typeof orig !== 'function') return;
    const fn = orig as (...args: unknown[]) => unknown;
    obj[key] = function (this: unknown, ...args: unknown[]) {
      if (when(args)) calls.push(`${label} ${String(args[0])}`);
      return fn.apply(this, args);
    };
    restore.push(() => (obj[key] = orig));
  };
  for (const k of WRITING_SYNC_OR_CB) wrap(fsCjs, k, `fs.${k}`);
  for (const k of WRITING_PROMISES) wrap(fspCjs, k, `fs.promises.${k}`);
  wrap(fsCjs, 'open', 'fs.open', (a) => isWriteFlag(a[1]));
  wrap(fsCjs, 'openSync', 'fs.openSync', (a) => isWriteFlag(a[1]));
  wrap(fspCjs, 'open', 'fs.promises.open', (a) => isWriteFlag(a[1]));
  wrap(fsCjs, 'createReadStream', 'fs.createReadStream', (a) => isWriteFlag((a[1] as { flags?: unknown } | undefined)?.flags));
  syncBuiltinESMExports();
  const watch: WriteWatch = {
    calls,
    stop() {
      if (active !== watch) return;
      for (const r of restore.reverse()) r();
      syncBuiltinESMExports();
      active = null;
    },
  };
  active = watch;
  return watch;
}

// ---------------------------------------------------------------------------
// Sample data: a deterministic mixed workload (every operation kind) and a
// real archive made from it, for the fault tests to corrupt and forge from.

/** The store methods the workload uses (BriStore / BriDB). */
export interface WorkloadTarget {
  set(key: string, value: object | string): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  rename(oldKey: string, newKey: string): Promise<unknown>;
  sAdd(set: string, member: string): Promise<unknown>;
  sRem(set: string, member: string): Promise<unknown>;
}

/** Writes `count` operations numbered from `from` (SET mostly, with DELETE, RENAME, SADD, SREM), `parallel` at a time. */
export async function writeWorkload(db: WorkloadTarget, from: number, count: number, opts: { prefix?: string; parallel?: number; padding?: number } = {}): Promise<void> {
  const p = opts.prefix ?? 'W';
  const parallel = opts.parallel ?? 8;
  const padding = opts.padding ?? 40;
  const op = (i: number): Promise<unknown> => {
    switch (i % 10) {
      case 3:
        return db.delete(`${p}_${i - 2}`);
      case 5:
        return db.rename(`${p}_${i - 1}`, `${p}_R${i}`);
      case 6:
      case 7:
        return db.sAdd(`${p}S_${i % 4}`, `m${i}`);
      case 8:
        return db.sRem(`${p}S_${(i - 2) % 4}`, `m${i - 2}`);
      default:
        return db.set(`${p}_${i}`, { i, at: new Date(1_700_000_000_000 + i), tags: [`t${i % 7}`, i % 3 === 0], pad: 'x'.repeat((i * 7) % padding) });
    }
  };
  // Operations that depend on each other (i-1, i-2) stay in one batch's order: a batch is ten consecutive numbers, run in order.
  for (let base = from; base < from + count; base += 10 * parallel) {
    const batches: Promise<void>[] = [];
    for (let b = 0; b < parallel; b++) {
      const start = base + b * 10;
      const end = Math.min(start + 10, from + count);
      if (start >= end) break;
      batches.push(
        (async () => {
          for (let i = start; i < end; i++) await op(i);
        })(),
      );
    }
    await Promise.all(batches);
  }
}

export interface SampleArchives {
  dataDir: string;
  /** The first archive of the data directory (from line 0, empty starting state). */
  first: CreatedArchive;
  /** The one after it: a starting snapshot with documents and sets, a pointer to continue. */
  second: CreatedArchive;
}

/** A fresh data dir under `root` with small segments, and two chained archives of it (with PAR2 recovery data only if asked). */
export async function makeSampleArchives(
  root: string,
  opts: { level?: number; ops?: [number, number]; segmentSize?: number; recovery?: boolean } = {},
): Promise<SampleArchives> {
  const dataDir = path.join(root, 'sample-data');
  const [n1, n2] = opts.ops ?? [200, 160];
  const db = await createDB({
    storeConfig: {
      dataDir,
      walSegmentSize: opts.segmentSize ?? 2048,
      fsyncMode: 'batched',
      batchIntervalMs: 2,
      snapshotOnClose: false,
      archive: { errorCorrection: { enabled: opts.recovery ?? false } },
    },
  });
  try {
    await writeWorkload(db, 0, n1);
    const first = await db.archive.create({ level: opts.level ?? 3, name: 'sample one' });
    await writeWorkload(db, n1, n2);
    const second = await db.archive.create({ level: opts.level ?? 3, name: 'sample two' });
    return { dataDir, first, second };
  } finally {
    await db.close();
  }
}

/** Thrown when a reader does not finish in time: a hang, which is a failure in itself. */
export class Hang extends Error {}

/** Runs `run`, turning a result or an error into a value; a run longer than `ms` throws Hang. */
export async function within<T>(what: string, ms: number, run: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Hang(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return { ok: true, value: await Promise.race([run(), timeout]) };
  } catch (error) {
    if (error instanceof Hang) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}
