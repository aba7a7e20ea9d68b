/**
 * A set whose only member was removed (SADD then SREM) still exists, empty: the store, data dump and
 * restore keys say so. Time travel's read (and `archive show`) said it did not exist and gave no members.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-emptied-set-');

describe('time travel over a set emptied by removing its members', () => {
  it('reads it as existing with no members, as the store holds it, archived or only in the WAL', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.sAdd('S', 'm');
    await db.sRem('S', 'm');
    await db.archive.create();
    await db.sAdd('E', 'x');
    await db.sRem('E', 'x');
    await db.close();
    const at = Date.now();
    const state = (await recover(dataDir)).state;
    const api = openRestore({ dataDir });
    for (const key of ['S', 'E']) {
      expect([...(state.collections.get(key) ?? ['absent'])]).toEqual([]);
      expect(await api.read(key, { at })).toMatchObject({ exists: true, document: null, members: [] });
    }
    // A set never written is still absent.
    expect(await api.read('N', { at })).not.toHaveProperty('members');
    const shown = await runCli(['archive', 'show', 'S', '--at', String(at), '-d', dataDir, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ exists: true, members: [] });
  });
});
