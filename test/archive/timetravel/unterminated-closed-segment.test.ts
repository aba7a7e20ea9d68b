/**
 * A closed WAL segment whose last line is whole but lacks its newline (the store's open, data verify and archive
 * create take it, 7e492bd): time travel over the data directory's WAL stopped reading at that line, so history
 * said "no change" and later lines did not exist.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-unterminated-');

describe('time travel over a closed segment whose last line has no newline', () => {
  it('reads that line and the lines after it: history, read and diff as the WAL says', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    await db.set('A', { v: 1 });
    await db.set('B', { v: 1 });
    await db.createSnapshot();
    await db.set('A', { v: 2 });
    await db.set('C', { v: 1 });
    await db.close();
    const first = path.join(dataDir, 'wal', '000000.wal');
    const text = await fsp.readFile(first, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    await fsp.writeFile(first, text.slice(0, -1));
    const api = openRestore({ dataDir });
    const history = await api.history('B');
    expect(history.entries.map((e) => [e.line, e.action])).toEqual([[2, 'SET']]);
    const at = Date.now();
    expect((await api.read('C', { at })).exists).toBe(true);
    expect((await api.read('B', { at })).exists).toBe(true);
    const diff = await api.diff({ at: 0 });
    expect(diff.added.sort()).toEqual(['A', 'B', 'C']);
  });
});
