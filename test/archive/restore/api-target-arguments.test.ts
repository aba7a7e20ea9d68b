/**
 * The API's restore arguments are checked like the CLI's: a targetDir of '' (an unset variable) used to
 * resolve to the working directory, which a forced restore then replaced (and deleted with cleanExisting);
 * a targetDir of null or 5, and options of null, were untyped TypeErrors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { makeTempDir } from '../../support/fixtures.js';

const cwd = process.cwd();
afterEach(() => process.chdir(cwd));

async function archivedDatabase(): Promise<{ root: string; dataDir: string }> {
  const root = await makeTempDir();
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir } });
  await db.set('K', { a: 1 });
  await db.archive.create();
  await db.close();
  return { root, dataDir };
}

describe('restore API arguments', () => {
  it("targetDir '' is refused USAGE, and the working directory is left as it was", async () => {
    const { root, dataDir } = await archivedDatabase();
    const app = path.join(root, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'server.js'), '// the application');
    process.chdir(app);
    const api = openRestore({ dataDir });
    await expect(api.fromLatest({ targetDir: '', force: true, cleanExisting: true })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('targetDir is empty') });
    await expect(api.clone({ targetDir: '', force: true })).rejects.toMatchObject({ code: 'USAGE' });
    expect(fs.readdirSync(app)).toEqual(['server.js']);
  });

  it('targetDir null or a number, and options null, are refused USAGE (not a TypeError)', async () => {
    const { dataDir } = await archivedDatabase();
    const api = openRestore({ dataDir });
    for (const bad of [null, 5]) {
      await expect(api.fromLatest({ targetDir: bad as unknown as string, dryRun: true })).rejects.toMatchObject({ code: 'USAGE', hint: expect.any(String) });
      await expect(api.clone({ targetDir: bad as unknown as string, dryRun: true })).rejects.toMatchObject({ code: 'USAGE' });
    }
    await expect(api.fromLatest(null as never)).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/options object/) });
    await expect(api.clone(null as never)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(api.toTimestamp(Date.now(), null as never)).rejects.toMatchObject({ code: 'USAGE' });
  });
});
