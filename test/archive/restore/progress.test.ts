/**
 * What a person sees of a restore: every phase by name, in order (write, fsync, validate, swap,
 * done), and the write phase moving within a segment, not one jump per segment.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../src/archive/package/progress.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-restore-progress-');

describe('restore progress', () => {
  it('names every phase in order (write, PAR2, fsync, swap, done), and the write phase moves within one large segment', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 64 * 1024 * 1024, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 20_000; i++) void db.set(`K_${i}`, { i });
    await db.set('LAST', { done: true });
    const a = await db.archive.create();
    expect(a.manifest.contents.segments).toHaveLength(1);
    await db.close();
    const events: ProgressEvent[] = [];
    await openRestore({ dataDir }).fromLatest({ targetDir: path.join(r, 'out'), onProgress: (e) => events.push(e) });
    const phases = events.map((e) => e.phase).filter((p, i, all) => p !== all[i - 1]);
    // One pass: the members are checked while they are written; the recovery data audited after; nothing read again.
    expect(phases.slice(phases.indexOf('write'))).toEqual(['write', 'recovery', 'fsync', 'swap', 'done']);
    const writes = events.filter((e) => e.phase === 'write' && e.item === 'wal/000000.wal');
    expect(new Set(writes.map((e) => e.doneBytes)).size).toBeGreaterThan(3);
    expect(writes.every((e, i) => i === 0 || e.doneBytes >= writes[i - 1]!.doneBytes)).toBe(true);
  }, 60_000);
});
