/** A hook command whose cwd does not exist said "could not start: ENOENT", as for a missing program: it names the folder now. */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-hook-cwd-');

describe('a hook command whose cwd is missing', () => {
  it('fails HOOK_FAILED naming the missing working directory and saying it does not exist', async () => {
    const root = await tmp();
    const missing = path.join(root, 'no-such-folder');
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), archive: { hooks: { beforeArchive: { command: 'true', cwd: missing } } } } });
    try {
      await db.set('A', { v: 1 });
      const err = await db.archive.create().then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'HOOK_FAILED', message: expect.stringContaining(`working directory ${missing} does not exist`) });
      expect((err as { hint: string }).hint).toContain(`Create ${missing}`);
    } finally {
      await db.close();
    }
  });
});
