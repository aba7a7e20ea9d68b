/**
 * The calls the first argument checks left out, from plain JavaScript: isStoredEverywhere(undefined),
 * notStoredEverywhere(5) and copies(undefined) rejected a raw TypeError (`id.includes is not a function`),
 * fileFor(undefined) threw one, cleanupWal({ dryRun: true }) removed WAL for real, db.archive.read(undefined)
 * was refused under db.restore's name, and db.createSnapshot() after close threw synchronously. Each is now
 * USAGE (or STORE_CLOSED) naming the call, as a rejection; fileFor, which answers at once, throws USAGE.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-api-args-every-');

/** The call's promise, failing the test if it threw synchronously instead. */
function promised(call: string, f: () => unknown): Promise<unknown> {
  let p: unknown;
  try {
    p = f();
  } catch (err) {
    throw new Error(`${call} threw synchronously: ${String(err)}`);
  }
  expect(p, call).toBeInstanceOf(Promise);
  return p as Promise<unknown>;
}

describe('every db.archive call checks its arguments', () => {
  it('isStoredEverywhere, notStoredEverywhere, copies, read, scan: USAGE naming the call and argument, rejected', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      await db.set('A', { v: 1 });
      const made = await db.archive.create();
      const a = db.archive as unknown as Record<string, (...x: unknown[]) => unknown>;
      const calls: Array<[string, () => unknown]> = [
        ['db.archive.isStoredEverywhere', () => a.isStoredEverywhere!(undefined)],
        ['db.archive.isStoredEverywhere', () => a.isStoredEverywhere!('')],
        ['db.archive.notStoredEverywhere', () => a.notStoredEverywhere!(5)],
        ['db.archive.copies', () => a.copies!(undefined)],
        ['db.archive.read', () => a.read!(undefined, { at: Date.now() })],
        ['db.archive.read', () => a.read!('A')],
        ['db.archive.scan', () => a.scan!(null)],
      ];
      for (const [call, f] of calls) {
        await expect(promised(call, f), call).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining(`${call}: argument`), details: { call } });
      }
      // The same calls with good arguments answer as before.
      expect(await db.archive.isStoredEverywhere(made.archiveId)).toBe(true);
      expect(await db.archive.notStoredEverywhere(made.archiveId)).toBeNull();
      expect(await db.archive.copies(made.archiveId)).toEqual([]); // no remote: no copy records
      expect(db.archive.fileFor(made.archiveId)).toMatch(/\.bri$/);
    } finally {
      await db.close();
    }
  });

  it('fileFor(undefined) throws USAGE naming the call, not a TypeError', async () => {
    const db = await createDB({ storeConfig: { dataDir: path.join(await tmp(), 'data') } });
    try {
      const fileFor = db.archive.fileFor.bind(db.archive) as (x: unknown) => string;
      for (const bad of [undefined, 5, '']) {
        let thrown: unknown = null;
        try {
          fileFor(bad);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toMatchObject({ code: 'USAGE', message: expect.stringContaining('db.archive.fileFor: argument 1 must be a non-empty string'), details: { call: 'db.archive.fileFor' } });
      }
    } finally {
      await db.close();
    }
  });

  it('calls that take no argument refuse one: cleanupWal({ dryRun: true }) removes nothing', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 300 } });
    try {
      for (let i = 0; i < 20; i++) await db.set(`K${i}`, { i, pad: 'x'.repeat(40) });
      await db.archive.create();
      const a = db.archive as unknown as Record<string, (...x: unknown[]) => unknown>;
      const segmentsBefore = db.info().segment;
      const linesBefore = db.info().totalLines;
      for (const [name, arg] of [['cleanupWal', { dryRun: true }], ['cleanupWal', 'x'], ['flushShipping', {}], ['shippingReport', 'nas'], ['stopTriggers', true], ['idle', 0]] as const) {
        const call = `db.archive.${name}`;
        await expect(promised(call, () => a[name]!(arg)), call).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining(`${call} takes no argument`), details: { call } });
      }
      expect(() => a.metrics!('json')).toThrow(expect.objectContaining({ code: 'USAGE' }));
      // Nothing was cleaned up by the refused call: the same lines are still in wal/, and the real call still runs.
      expect(db.info()).toMatchObject({ segment: segmentsBefore, totalLines: linesBefore });
      const walFiles = () => fs.readdirSync(path.join(dataDir, 'wal')).length;
      const before = walFiles();
      expect((await db.archive.cleanupWal()).segments.length).toBeGreaterThan(0);
      expect(walFiles()).toBeLessThan(before);
    } finally {
      await db.close();
    }
  });

  it('after close, createSnapshot and rotateWal reject STORE_CLOSED (never a synchronous throw)', async () => {
    const db = await createDB({ storeConfig: { dataDir: path.join(await tmp(), 'data') } });
    await db.set('A', { v: 1 });
    await db.close();
    await expect(promised('db.createSnapshot', () => db.createSnapshot())).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(promised('db.rotateWal', () => db.rotateWal())).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
