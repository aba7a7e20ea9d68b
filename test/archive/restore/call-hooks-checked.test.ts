/**
 * A restore call's own hooks from plain JavaScript: a misspelt name ({ afterRestor: fn }), an archive hook,
 * a number, a command line were taken and silently never run, while the same in archive.restoreHooks is
 * CONFIG_INVALID. Each is USAGE naming the key, before anything is read or written; a function still runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-call-hooks-');

describe('restore call hooks', () => {
  it('an unknown hook name, an archive hook, a non-function and null are USAGE naming the key; nothing is made', async () => {
    const dir = await tmp();
    const db = await createDB({ storeConfig: { dataDir: path.join(dir, 'data') } });
    try {
      await db.set('A', { v: 1 });
      await db.archive.create();
      const marker = path.join(dir, 'hook.out');
      const bad: Array<[unknown, string]> = [
        [{ afterRestor: () => 1 }, 'hooks.afterRestor'],
        [{ afterArchive: () => 1 }, 'hooks.afterArchive'],
        [{ afterRestore: 5 }, 'hooks.afterRestore'],
        [{ afterRestore: `echo hi > ${marker}` }, 'hooks.afterRestore'],
        [{ beforeRestore: ['/bin/sh', '-c', `echo hi > ${marker}`] }, 'hooks.beforeRestore'],
        [{ onError: { function: () => 1, timeoutMs: 1000 } }, 'hooks.onError'],
        [null, 'hooks'],
        ['echo hi', 'hooks'],
      ];
      for (const [hooks, option] of bad) {
        const targetDir = path.join(dir, 'clone');
        const clone = db.restore.clone as (o: unknown) => Promise<unknown>;
        await expect(clone.call(db.restore, { targetDir, hooks }), option).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining(option), details: { option } });
        expect(fs.existsSync(targetDir), option).toBe(false);
        const fromLatest = db.restore.fromLatest as (o: unknown) => Promise<unknown>;
        await expect(fromLatest.call(db.restore, { targetDir, dryRun: true, hooks }), option).rejects.toMatchObject({ code: 'USAGE', details: { option } });
      }
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('restore hooks given as functions still run', async () => {
    const dir = await tmp();
    const db = await createDB({ storeConfig: { dataDir: path.join(dir, 'data') } });
    try {
      await db.set('A', { v: 1 });
      await db.archive.create();
      const ran: string[] = [];
      const targetDir = path.join(dir, 'clone');
      await db.restore.clone({ targetDir, hooks: { beforeRestore: () => void ran.push('before'), afterRestore: () => void ran.push('after'), onError: undefined } });
      expect(ran).toEqual(['before', 'after']);
      expect(fs.existsSync(targetDir)).toBe(true);
    } finally {
      await db.close();
    }
  });
});
