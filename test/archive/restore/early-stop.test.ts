import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { recover } from '../../../src/store/recovery.js';
import { toPlainState } from '../../../src/format/state.js';
import { makeTempDir } from '../../support/fixtures.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

describe('a point-in-time restore that stops inside a large member', () => {
  it('stops reading the member early and still finishes (the tar stream is drained, not stalled)', async () => {
    const root = await makeTempDir('bri-earlystop-');
    made.push(root);
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, fsyncMode: 'batched', batchIntervalMs: 5, snapshotOnClose: false } });
    // Incompressible values, so that the first WAL member is several MiB even compressed.
    for (let batch = 0; batch < 12; batch++) {
      await Promise.all(Array.from({ length: 1000 }, (_, i) => db.set(`K_${batch}_${i}`, { v: randomBytes(300).toString('base64') })));
      await new Promise((r) => setTimeout(r, 3));
    }
    const archive = await db.archive.create({ level: 1 });
    expect(archive.manifest.contents.segments[0]!.compressedSize).toBeGreaterThan(3 * 1024 * 1024);
    await db.close();
    const T = archive.manifest.contents.segments[0]!.firstTimestamp! + 1;
    const target = path.join(root, 'early');
    const result = await db.restore.toTimestamp(T, { targetDir: target });
    expect(result.linesRestored).toBeGreaterThan(0);
    expect(result.linesRestored).toBeLessThan(archive.manifest.contents.totalWalEntries);
    expect(toPlainState((await recover(target)).state)).toEqual(toPlainState((await recover(dataDir, { ignoreSnapshot: true, untilTimestamp: T })).state));
  }, 120_000);
});
