/**
 * A restore to a moment that falls exactly on an archive's start (its snapshot's line, no WAL line of it
 * taken) said its last line's time was unknown (`through absolute line 3, -`), while the dry run gave it: it is
 * the archive's start time, and the directory records it as where it began.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { readArchiveState } from '../../../src/store/archive-state.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-cut-at-start-');

describe('a restore cut at an archive start', () => {
  it('answers the start line\'s time, as the dry run does, and records it', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 3; i++) await db.set(`A${i}`, { i });
    await db.archive.create();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 3; i++) await db.set(`B${i}`, { i });
    const second = await db.archive.create();
    await db.close();
    const start = second.manifest.timeRange.start.getTime();
    const api = openRestore({ dataDir });
    const target = path.join(root, 'at-start');
    const dry = await api.toTimestamp(start, { targetDir: target, dryRun: true });
    const real = await api.toTimestamp(start, { targetDir: target });
    expect(real.lastLine).toBe(3);
    expect(real.lastTimestamp).toBe(start);
    expect(real.lastTimestamp).toBe(dry.lastTimestamp);
    expect((await readArchiveState(target))?.restoredThroughTime).toBe(start);
  }, 60_000);
});
