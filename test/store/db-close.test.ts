import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-db-close-');

describe('db.close', () => {
  it('two close() calls at the same time both resolve once the database is closed, and a third one after them too', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { triggers: { walEntries: 1000 } } } });
    await db.set('K_1', { a: 1 });
    const order: string[] = [];
    const both = await Promise.allSettled([db.close().then(() => order.push('first')), db.close().then(() => order.push(`second, closed: ${db.isClosed}`))]);
    expect(both.map((r) => (r.status === 'rejected' ? `${(r.reason as { code?: string }).code}: ${(r.reason as Error).message}` : r.status))).toEqual(['fulfilled', 'fulfilled']);
    // The second waited for the first: it resolved with the database closed, not before.
    expect(order).toEqual(['first', 'second, closed: true']);
    await expect(db.close()).resolves.toBeUndefined();
    expect(fs.existsSync(path.join(dataDir, 'bri.lock'))).toBe(false);
    const again = await createDB({ storeConfig: { dataDir } });
    expect(again.get('K_1')).toEqual({ a: 1 });
    await again.close();
  });

  it("db.archive of a closed database refuses every call with STORE_CLOSED, and a create touches nothing: another process's run in progress keeps its stage directory; db.restore is the stopped database's", async () => {
    const r = await tempDir();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('K_1', { a: 1 });
    await db.archive.create();
    await db.close();
    // What another process's create in progress has in the archive directory (its lock now held elsewhere).
    const { readArchiveState } = await import('../../src/store/archive-state.js');
    const instanceId = (await readArchiveState(dataDir))!.instanceId;
    const stage = path.join(dataDir, 'archives', '.tmp', `${instanceId}.20991231T000000000Z-0000abcd`);
    fs.mkdirSync(stage, { recursive: true });
    fs.writeFileSync(path.join(stage, '000000.wal.zst'), 'in progress');
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['archive.create', () => db.archive.create()],
      ['archive.list', () => db.archive.list()],
      ['archive.prune', () => db.archive.prune()],
      ['archive.verifyAll', () => db.archive.verifyAll()],
    ];
    for (const [name, call] of calls) await expect(call(), name).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    expect(fs.readdirSync(stage)).toEqual(['000000.wal.zst']);
    fs.rmSync(stage, { recursive: true });
    // The stopped database's restore: it lists and restores, in place too (what the open one refuses).
    expect((await db.restore.list()).archives).toHaveLength(1);
    await db.restore.fromLatest({ force: true });
    const reopened = await createDB({ storeConfig: { dataDir } });
    expect(reopened.get('K_1')).toEqual({ a: 1 });
    await reopened.close();
    // Listeners and held figures still answer.
    expect(() => db.archive.on('finished', () => undefined)).not.toThrow();
    expect(db.archive.shippingStatus()).toEqual([]);
  });
});

describe('API options', () => {
  it('a misspelt option is USAGE naming it, before anything is done: a misspelt dryRun never restores, rolls back or prunes for real', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, retentionDays: 1 } } });
    try {
      await db.set('K', { v: 1 });
      const made = await db.archive.create();
      const at = Date.now();
      await db.set('K', { v: 2 });
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['restore', () => db.restore.fromLatest({ targetDir: path.join(dataDir, '..', 'elsewhere'), dryrun: true } as never)],
        ['clone', () => db.restore.clone({ targetDir: path.join(dataDir, '..', 'clone'), newInstanceID: 'x' } as never)],
        ['rollback', () => db.restore.rollback(['K'], { at, dryrun: true } as never)],
        ['prune', () => db.archive.prune({ dryrun: true } as never)],
        ['create', () => db.archive.create({ nmae: 'x' } as never)],
      ];
      for (const [name, call] of calls) await expect(call(), name).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/unknown option\(s\) '(dryrun|newInstanceID|nmae)'/) });
      expect(db.get('K')).toEqual({ v: 2 });
      expect(fs.existsSync(path.join(dataDir, '..', 'elsewhere'))).toBe(false);
      expect(fs.existsSync(path.join(dataDir, '..', 'clone'))).toBe(false);
      expect(fs.existsSync(made.file)).toBe(true);
    } finally {
      await db.close();
    }
  });
});
