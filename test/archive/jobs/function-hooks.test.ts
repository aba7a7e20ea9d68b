/**
 * Archive hooks given as functions: one that calls back into the archive API (a create, a prune, db.close)
 * hung the run, every later create and close forever; one that threw null or a string turned a made archive
 * into an untyped failure. Such calls are refused USAGE naming the hook; a hook's failure is HOOK_FAILED.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-fn-hooks-');

/** Fails the test instead of hanging it: a deadlock is what these tests guard against. */
function settled<T>(p: Promise<T>, ms = 15_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms: a deadlock`)), ms).unref())]);
}

describe('archive hooks that are functions', () => {
  it('calling db.archive (create, prune, cleanupWal, delete) or db.close from beforeArchive, afterArchive or onError is USAGE naming the hook; the run, later creates and close finish', async () => {
    const calls: Array<[string, (db: BriDB) => Promise<unknown>]> = [
      ['create', (db) => db.archive.create()],
      ['prune', (db) => db.archive.prune({ dryRun: true })],
      ['cleanupWal', (db) => db.archive.cleanupWal()],
      ['delete', (db) => db.archive.delete('20200101T000000000Z-00000000')],
      ['close', (db) => db.close()],
    ];
    for (const hook of ['beforeArchive', 'afterArchive'] as const) {
      for (const [name, call] of calls) {
        const dataDir = path.join(await tmp(), 'data');
        const answers: unknown[] = [];
        let db: BriDB | null = null;
        db = await createDB({
          storeConfig: {
            dataDir,
            archive: {
              compression: { level: 1 },
              hooks: {
                [hook]: async () => {
                  answers.push(await call(db!).then(() => 'resolved', (e: { code?: string; message?: string }) => ({ code: e.code, message: e.message })));
                },
              },
            },
          },
        });
        await db.set('A', { v: 1 });
        const made = await settled(db.archive.create());
        expect(made.hookErrors, `${hook} ${name}`).toEqual([]);
        expect(answers, `${hook} ${name}`).toEqual([{ code: 'USAGE', message: expect.stringContaining(`inside the ${hook} hook`) }]);
        await db.set('B', { v: 2 });
        await settled(db.archive.create());
        expect(db.isClosed).toBe(false);
        await settled(db.close());
      }
    }
  });

  it('onError calling db.archive.create as a retry is USAGE, and the failure it was told of stands', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const answers: unknown[] = [];
    let db: BriDB | null = null;
    db = await createDB({
      storeConfig: {
        dataDir,
        archive: {
          hooks: {
            beforeArchive: () => {
              throw new Error('not now');
            },
            onError: async () => {
              answers.push(await db!.archive.create().then(() => 'resolved', (e: { code?: string }) => e.code));
            },
          },
        },
      },
    });
    await db.set('A', { v: 1 });
    await expect(settled(db.archive.create())).rejects.toMatchObject({ code: 'HOOK_FAILED', message: expect.stringContaining('not now') });
    expect(answers).toEqual(['USAGE']);
    await settled(db.close());
  });

  it('a hook that throws null, a string or an Error is HOOK_FAILED naming the hook: beforeArchive stops the run, afterArchive is a hook error of a made archive', async () => {
    for (const thrown of [null, undefined, 'boom', new Error('boom'), { why: 'boom' }]) {
      const dataDir = path.join(await tmp(), 'data');
      const db = await createDB({ storeConfig: { dataDir, archive: { hooks: { afterArchive: () => Promise.reject(thrown) } } } });
      await db.set('A', { v: 1 });
      const made = await db.archive.create();
      expect(made.archiveId).toBeTruthy();
      expect(made.hookErrors).toEqual([expect.stringMatching(/^afterArchive: ./)]);
      expect(made.hookErrors[0]).toContain(thrown instanceof Error ? 'boom' : thrown === null ? 'null' : thrown === undefined ? 'undefined' : 'boom');
      await db.close();
      const before = await createDB({ storeConfig: { dataDir, archive: { hooks: { beforeArchive: () => Promise.reject(thrown) } } } });
      await before.set('B', { v: 1 });
      await expect(before.archive.create()).rejects.toMatchObject({ code: 'HOOK_FAILED', details: { hook: 'beforeArchive' } });
      await before.close();
    }
  });
  it('a function hook that never settles is HOOK_FAILED past its timeoutMs ({ function, timeoutMs }): beforeArchive stops the run, afterArchive is a hook error, and close() and later creates finish', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const never = () => new Promise<void>(() => undefined);
    let stall = true;
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, hooks: { beforeArchive: { function: () => (stall ? never() : undefined), timeoutMs: 200 }, afterArchive: { function: never, timeoutMs: 200 } } } } });
    await db.set('A', { v: 1 });
    const stopped = await settled(db.archive.create()).catch((e: unknown) => e);
    expect(stopped).toMatchObject({ code: 'HOOK_FAILED', details: { hook: 'beforeArchive', timeoutMs: 200 } });
    // It says what happened: the run stopped (not "goes on without it", which is an after-hook's lot).
    expect((stopped as Error).message).toMatch(/did not settle within 200 ms: the operation is stopped/);
    stall = false;
    const made = await settled(db.archive.create());
    expect(made.hookErrors).toEqual([expect.stringMatching(/^afterArchive: .*did not settle within 200 ms: the run goes on without it/)]);
    await settled(db.close());
  });

  it('a restore hook that never settles is HOOK_FAILED past its timeoutMs: a stalled beforeRestore swaps nothing in and leaves no lock; a stalled afterRestore leaves the restore in place', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const never = () => new Promise<void>(() => undefined);
    const make = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await make.set('A', { v: 1 });
    await make.archive.create();
    await make.close();
    const target = path.join(r, 'restored');
    const before = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, restoreHooks: { beforeRestore: { function: never, timeoutMs: 200 } } } } });
    await expect(settled(before.restore.fromLatest({ targetDir: target }))).rejects.toMatchObject({ code: 'HOOK_FAILED', details: { hook: 'beforeRestore' } });
    await settled(before.close());
    const after = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, restoreHooks: { afterRestore: { function: never, timeoutMs: 200 } } } } });
    const done = await settled(after.restore.fromLatest({ targetDir: target }));
    expect(done.hookErrors).toEqual([expect.stringMatching(/^afterRestore: .*did not settle within 200 ms/)]);
    await settled(after.close());
    const back = await createDB({ storeConfig: { dataDir: target } });
    expect(await back.get('A')).toEqual({ v: 1 });
    await back.close();
  });

  it('{ function } must hold a function, and timeoutMs a duration: CONFIG_INVALID', async () => {
    const dataDir = path.join(await tmp(), 'data');
    for (const bad of [{ function: 'notify.sh' }, { function: () => undefined, timeoutMs: 0 }, { function: () => undefined, timeoutMs: 10, cwd: '/' }]) {
      await expect(createDB({ storeConfig: { dataDir, archive: { hooks: { afterArchive: bad as never } } } })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    }
  });
});
