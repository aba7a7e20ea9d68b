/**
 * A WAL write that fails without tearing anything (the next segment cannot be opened: EACCES, EMFILE,
 * ENOSPC; a write cut short whose partial line is cut back) does not leave the database failed for
 * good: once the fault is gone it takes writes again, the writes it refused (already in memory) are
 * written ahead of the next one, and the reopened directory holds every line, its chain whole.
 * The fault is injected into node:fs in this process (the functions the writer calls).
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { ErrorCodes, isBriError } from '../../../src/errors.js';
import { verifyDataDir } from '../../../src/store/verify-data-dir.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-wal-fault-');
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
const original = { openSync: fs.openSync, writeSync: fs.writeSync };

afterEach(() => {
  Object.assign(fs, original);
  syncBuiltinESMExports();
});

const errnoError = (code: string, syscall: string, p?: string) => Object.assign(new Error(`${code}: injected, ${syscall}`), { code, errno: -1, syscall, ...(p ? { path: p } : {}) });

/** Opening any file under wal/ for writing fails with `code` until the returned function is called. */
function refuseSegmentOpens(code: string): () => void {
  fs.openSync = ((p: import('node:fs').PathLike, ...rest: unknown[]) => {
    if (String(p).includes(`${path.sep}wal${path.sep}`)) throw errnoError(code, 'open', String(p));
    return (original.openSync as (...a: unknown[]) => number)(p, ...rest);
  }) as typeof fs.openSync;
  syncBuiltinESMExports();
  return () => {
    fs.openSync = original.openSync;
    syncBuiltinESMExports();
  };
}

/** The next write() writes half its bytes, the one after fails ENOSPC (a disk filling mid-line). */
function tearNextWrite(): void {
  let calls = 0;
  fs.writeSync = ((fd: number, buf: Buffer, off?: number, len?: number, ...rest: unknown[]) => {
    calls++;
    if (calls === 1) return (original.writeSync as (...a: unknown[]) => number)(fd, buf, off, Math.max(1, Math.floor((len ?? buf.length) / 2)), ...rest);
    if (calls === 2) throw errnoError('ENOSPC', 'write');
    return (original.writeSync as (...a: unknown[]) => number)(fd, buf, off, len, ...rest);
  }) as typeof fs.writeSync;
  syncBuiltinESMExports();
}

const value = (i: number) => ({ i, pad: 'q'.repeat(100) });

async function writeMany(db: BriDB, from: number, n: number): Promise<unknown[]> {
  return Promise.all(Array.from({ length: n }, (_, k) => db.set(`K_${from + k}`, value(from + k)).then(() => null, (e: unknown) => e)));
}

async function reopenedKeys(dataDir: string, n: number): Promise<number> {
  const db = await createDB({ storeConfig: { dataDir } });
  try {
    let present = 0;
    for (let i = 0; i < n; i++) if (db.get(`K_${i}`) != null) present++;
    return present;
  } finally {
    await db.close();
  }
}

describe('the WAL writer after a failure that tore nothing', () => {
  it.each([
    ['EACCES', 'No permission for'],
    ['EMFILE', 'Too many open files'],
    ['ENOSPC', 'is full'],
  ])('a rotation refused %s: the refused writes are said to be "may or may not", and once the fault is gone writes go on and every line is kept', async (code, hintSays) => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 4 * 1024 } });
    expect((await writeMany(db, 0, 20)).every((r) => r === null)).toBe(true);
    const heal = refuseSegmentOpens(code);
    const results = await writeMany(db, 20, 60);
    heal();
    const refused = results.filter((r) => r !== null);
    expect(refused.length).toBeGreaterThan(0);
    const err = refused[0];
    expect(isBriError(err, ErrorCodes.IO_ERROR)).toBe(true);
    if (!isBriError(err)) return;
    expect(err.details).toMatchObject({ errno: code, recoverable: true });
    expect(err.hint).toContain(hintSays);
    expect(err.hint).toContain('may or may not');
    expect(err.hint).not.toContain('were not made durable');
    // The fault is gone: the next write and the close succeed.
    expect(await writeMany(db, 80, 5)).toEqual([null, null, null, null, null]);
    await db.close();
    expect(await reopenedKeys(dataDir, 85)).toBe(85);
    expect((await verifyDataDir(dataDir)).ok).toBe(true);
  });

  it('a write cut short by a full disk is cut back: no torn line, and writes go on once there is room', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    expect(await writeMany(db, 0, 10)).toEqual(Array(10).fill(null));
    tearNextWrite();
    const [torn] = await writeMany(db, 10, 1);
    expect(isBriError(torn, ErrorCodes.IO_ERROR) && torn.details.recoverable).toBe(true);
    expect((torn as Error & { hint: string }).hint).toContain(path.join(dataDir, 'wal'));
    expect(await writeMany(db, 11, 4)).toEqual(Array(4).fill(null));
    await db.close();
    expect(await reopenedKeys(dataDir, 15)).toBe(15);
    expect((await verifyDataDir(dataDir)).ok).toBe(true);
  });
});
