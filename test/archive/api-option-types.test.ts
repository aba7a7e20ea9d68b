/**
 * A switch option given as something else than true or false: `dryRun: 'false'` (a flag read from the
 * environment) ran the dry run of restore, prune and rollback while the result said `dryRun: false`, and
 * nothing was done. Each call now refuses a switch that is not a boolean, and a callback that is not a
 * function, before anything is read or changed: USAGE naming the option.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-api-option-types-');

describe('switch and callback options of db.archive and db.restore', () => {
  it("dryRun: 'false', verify: 'yes', onProgress: 5 are USAGE naming the option; nothing is restored, pruned or rolled back", async () => {
    const root = await tmp();
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), archive: { compression: { level: 1 } } } });
    try {
      await db.set('A', { v: 1 });
      const at = Date.now();
      const { archiveId } = await db.archive.create({ retention: { days: 1 } });
      await db.set('A', { v: 2 });
      await db.archive.create();
      const target = path.join(root, 'clone');
      const s = 'false' as unknown as boolean;
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['dryRun', () => db.restore.clone({ targetDir: target, dryRun: s })],
        ['dryRun', () => db.restore.fromLatest({ targetDir: target, dryRun: 1 as unknown as boolean })],
        ['verify', () => db.restore.from(archiveId, { targetDir: target, verify: 'yes' as unknown as boolean })],
        ['force', () => db.restore.toTimestamp(at, { targetDir: target, force: 'true' as unknown as boolean })],
        ['dryRun', () => db.archive.prune({ dryRun: s, now: new Date(Date.now() + 3 * 86_400_000) })],
        ['dryRun', () => db.restore.rollback(['A'], { at, dryRun: 'true' as unknown as boolean })],
        ['verify', () => db.archive.download(archiveId, path.join(root, 'x.bri'), { verify: 'no' as unknown as boolean })],
        ['onProgress', () => db.archive.verify(archiveId, { onProgress: 5 as unknown as () => void })],
      ];
      for (const [option, call] of calls) {
        await expect(call(), option).rejects.toMatchObject({ code: 'USAGE', details: { option } });
      }
      expect(fs.existsSync(target)).toBe(false);
      expect(fs.existsSync(path.join(root, 'x.bri'))).toBe(false);
      expect((await db.archive.list()).map((a) => a.manifest.archiveId)).toContain(archiveId);
      expect(await db.get('A')).toEqual({ v: 2 });
      // As booleans, the same calls run.
      expect((await db.restore.clone({ targetDir: target, dryRun: false })).dryRun).toBe(false);
      expect(fs.existsSync(target)).toBe(true);
      expect((await db.restore.rollback(['A'], { at, dryRun: false })).dryRun).toBe(false);
      expect(await db.get('A')).toEqual({ v: 1 });
    } finally {
      await db.close();
    }
  });
});
