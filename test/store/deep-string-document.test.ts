/**
 * A document stored as a string of JSON nested deeper than JSON.stringify reaches (about 4100 levels on Node
 * 20; the parser goes deeper): set() took it, then every snapshot, archive and close() rejected with an untyped
 * RangeError, forever (the snapshot writer's canonical-form check stringified it unguarded). It is kept as the
 * string it is, through a snapshot, an archive, a reopen and a restore.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-deep-string-');

describe('a string document nested deeper than the stack', () => {
  it('snapshots, archives, closes, reopens and restores as the same string', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const raw = '{"a":'.repeat(6000) + '1' + '}'.repeat(6000);
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.set('deep', raw);
    await db.set('next', { v: 1 });
    await db.createSnapshot();
    await db.archive.create();
    await db.close();
    const again = await createDB({ storeConfig: { dataDir } });
    expect(await again.get('deep')).toBe(raw);
    const restored = await again.restore.fromLatest({ targetDir: path.join(root, 'restored') });
    expect(restored.documents).toBe(2);
    await again.close();
    const copy = await createDB({ storeConfig: { dataDir: path.join(root, 'restored') } });
    expect(await copy.get('deep')).toBe(raw);
    await copy.close();
  }, 60_000);
});
