/**
 * A restore gives its decoder thread back once its WAL is written (the thread's heap and spare
 * buffers would otherwise be held through the snapshot at the last line, the peak of its memory),
 * without disturbing a query in the same process that is still using the pool.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { decoderPool } from '../../../src/archive/package/decoder/member-decoder.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { makeTempDir } from '../../support/fixtures.js';

describe('the decoder threads of a restore', () => {
  it('are stopped when its WAL is written, and a time-travel query running beside it still answers', async () => {
    const root = await makeTempDir('bri-decoders-');
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 8 * 1024, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 400; i++) await db.set(`K_${i % 50}`, { i, pad: 'x'.repeat(100) });
    const archive = await db.archive.create();
    const state = toPlainState(db.state);
    await db.close();
    expect(archive.manifest.contents.segments.length).toBeGreaterThan(3);

    const api = openRestore({ dataDir });
    const alone = await api.fromLatest({ targetDir: path.join(root, 'alone') });
    expect(alone.documents).toBe(50);
    expect(decoderPool.running(), 'no thread is kept after the restore').toBe(0);

    // Several at once: restores and history queries share the pool; each answers in full.
    const [a, h1, b, h2] = await Promise.all([
      api.fromLatest({ targetDir: path.join(root, 'a') }),
      api.history('K_7'),
      api.fromLatest({ targetDir: path.join(root, 'b') }),
      api.history('K_8'),
    ]);
    expect(a.documents).toBe(50);
    expect(b.documents).toBe(50);
    expect(h1.entries.length).toBe(8);
    expect(h2.entries.length).toBe(8);
    for (const dir of ['alone', 'a', 'b']) expect(toPlainState((await recover(path.join(root, dir))).state)).toEqual(state);
  });
});
