/**
 * A target whose name leaves no room for `<name>.pre-restore-<time>` (255 bytes at most): the dry run used
 * to say OK where the real run failed IO_ERROR; both refuse it USAGE now, before anything is made.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { makeTempDir } from '../../support/fixtures.js';

describe('a target name too long for the names a restore makes beside it', () => {
  it('a 230-byte name is refused USAGE by the dry run and the real run alike', async () => {
    const root = await makeTempDir();
    const dir = path.join(root, 'd');
    const db = await createDB({ storeConfig: { dataDir: dir } });
    await db.set('K', { a: 1 });
    await db.archive.create();
    await db.close();
    const target = path.join(root, 'x'.repeat(230));
    const api = openRestore({ dataDir: dir });
    await expect(api.fromLatest({ targetDir: target, dryRun: true })).rejects.toMatchObject({ code: 'USAGE', hint: expect.stringContaining('at most') });
    await expect(api.fromLatest({ targetDir: target })).rejects.toMatchObject({ code: 'USAGE' });
    expect(fs.readdirSync(root)).toEqual(['d']);
    // A name with room to spare restores as before.
    await expect(api.fromLatest({ targetDir: path.join(root, 'y'.repeat(200)) })).resolves.toMatchObject({ linesRestored: 1 });
  });
});
