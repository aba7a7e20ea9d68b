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
import { hostTag } from '../../../src/store/lock/process-identity.js';

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
    // The restore lock's scratch file beside the target (.<name>.restore.lock.<host>.<pid>.<hex>.tmp) sets the limit:
    // one byte past it is refused by both runs; at it the real run restores (it failed ENAMETOOLONG after a dry run's OK).
    const limit = 255 - Math.max('.pre-restore-'.length + 19, `..restore.lock.${hostTag()}.9999999.${'0'.repeat(12)}.tmp`.length);
    await expect(api.fromLatest({ targetDir: path.join(root, 'z'.repeat(limit + 1)), dryRun: true })).rejects.toMatchObject({ code: 'USAGE', hint: expect.stringContaining(`at most ${limit} bytes`) });
    await expect(api.fromLatest({ targetDir: path.join(root, 'y'.repeat(limit)) })).resolves.toMatchObject({ linesRestored: 1 });
  });
});
