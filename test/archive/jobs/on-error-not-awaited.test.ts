/**
 * An onError hook told of a continuous shipping failure: nothing waits for it (shipping calls it and goes on),
 * yet its db.close() was refused "it would wait for the archive run that waits for the hook", a false reason,
 * and an alerting path that shuts the database down on failure could not. Only hooks a run awaits refuse.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB, type BriDB } from '../../../src/db.js';
import { outcome, until } from '../../support/settle.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-on-error-not-awaited-');

describe('an onError hook nothing waits for', () => {
  it('an onError told of a continuous shipping failure (nothing waits for it) closes the database', async () => {
    const dir = await tmp();
    const dataDir = path.join(dir, 'data');
    const nas = path.join(dir, 'nas');
    fs.mkdirSync(nas);
    let closeAnswer: string | null = null;
    let told = 0;
    let db: BriDB | null = null;
    db = await createDB({
      storeConfig: {
        dataDir,
        archive: {
          compression: { level: 1 },
          remotes: [{ provider: 'local', name: 'nas', path: nas }],
          continuous: { enabled: true, intervalMs: 100 },
          hooks: {
            onError: async () => {
              if (told++ > 0) return;
              closeAnswer = await outcome(db!.close());
            },
          },
        },
      },
    });
    // The first archive (shipping continues one) made and uploaded before the remote goes away.
    await db.set('A', { v: 1 });
    await db.archive.idle();
    expect(told).toBe(0);
    fs.renameSync(nas, `${nas}-gone`);
    await db.set('B', { v: 2 });
    await until(() => closeAnswer !== null);
    // The lines that could not ship stay in wal/ (close says REMOTE_ERROR for them); the database is closed.
    expect(closeAnswer).not.toMatch(/^USAGE/);
    expect(db.isClosed).toBe(true);
    fs.renameSync(`${nas}-gone`, nas);
    const again = await createDB({ storeConfig: { dataDir } });
    expect(again.get('B')).toEqual({ v: 2 });
    await again.close();
  });
});
