/**
 * Plain-JavaScript callers: every db.archive / db.restore method given a missing or wrong-typed argument is
 * refused USAGE naming the method and the argument, before anything runs (these were TypeErrors from deep
 * inside, `reading 'includes'`, some thrown synchronously), and the database keeps working.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-api-args-');

describe('API arguments from plain JavaScript', () => {
  it('missing or wrong-typed arguments are USAGE naming the call, rejected (never thrown synchronously), nothing written', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      await db.set('A', { v: 1 });
      const made = await db.archive.create();
      const a = db.archive as unknown as Record<string, (...x: unknown[]) => Promise<unknown>>;
      const r = db.restore as unknown as Record<string, (...x: unknown[]) => Promise<unknown>>;
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['db.archive.create', () => a.create!(null)],
        ['db.archive.prune', () => a.prune!(null)],
        ['db.archive.thaw', () => a.thaw!(undefined)],
        ['db.archive.list', () => a.list!(null)],
        ['db.archive.stats', () => a.stats!(null)],
        ['db.archive.verifyAll', () => a.verifyAll!(null)],
        ['db.archive.verify', () => a.verify!(undefined)],
        ['db.archive.get', () => a.get!(undefined)],
        ['db.archive.get', () => a.get!('')],
        ['db.archive.download', () => a.download!(undefined)],
        ['db.archive.download', () => a.download!(made.archiveId)],
        ['db.archive.delete', () => a.delete!(undefined)],
        ['db.archive.delete', () => a.delete!(5)],
        ['db.archive.repair', () => a.repair!(undefined)],
        ['db.archive.inspect', () => a.inspect!(undefined)],
        ['db.archive.history', () => a.history!(undefined)],
        ['db.archive.rekey', () => a.rekey!(undefined)],
        ['db.restore.read', () => r.read!('A')],
        ['db.restore.read', () => r.read!()],
        ['db.restore.diff', () => r.diff!()],
        ['db.restore.list', () => r.list!(null)],
        ['db.restore.from', () => r.from!(undefined)],
        ['db.restore.verify', () => r.verify!(null)],
        ['db.restore.history', () => r.history!(42)],
        ['db.restore.rollback', () => r.rollback!()],
        ['db.restore.findForTimestamp', () => r.findForTimestamp!(Date.now(), 5)],
        ['db.restore.findForTimestamp', () => r.findForTimestamp!(Date.now(), '')],
        ['db.restore.plan', () => r.plan!(null)],
        ['db.restore.plan', () => r.plan!('latest')],
        ['db.restore.plan', () => r.plan!({ kind: 'latest' }, 7)],
        ['db.restore.plan', () => r.plan!({ kind: 'latest' }, undefined, 5)],
      ];
      for (const [call, f] of calls) {
        let p: Promise<unknown>;
        try {
          p = f();
        } catch (err) {
          throw new Error(`${call} threw synchronously: ${String(err)}`);
        }
        await expect(p, call).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining(`${call}: argument`), details: { call } });
      }
      // Options of the wrong kind inside an object: a name that is no string, a reason no run gives.
      await db.set('C', { v: 3 });
      await expect(a.create!({ name: 5 })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('archive name') });
      await expect(a.create!({ reason: 'bogus' })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('reason') });
      expect((await db.archive.list()).map((x) => x.manifest.archiveId)).toEqual([made.archiveId]);
      expect(await db.archive.get(made.archiveId)).toMatchObject({ manifest: { archiveId: made.archiveId } });
      await db.set('B', { v: 2 });
      expect((await db.restore.read('B', { at: Date.now() })).exists).toBe(true);
    } finally {
      await db.close();
    }
  });
});
