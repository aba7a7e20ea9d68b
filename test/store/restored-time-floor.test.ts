/**
 * A restore to a moment between two archives restores no WAL line: the new directory's state is the
 * other instance's at restoredThroughTime. A clock behind (NTP, a resumed VM) must not stamp the first
 * new line before that moment, or the WAL's times go back at its first line.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { readArchiveState } from '../../src/store/archive-state.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-restored-floor-');
const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function lineTimes(dataDir: string): Promise<number[]> {
  const walDir = path.join(dataDir, 'wal');
  const out: number[] = [];
  for (const f of (await fsp.readdir(walDir)).sort()) {
    for (const line of (await fsp.readFile(path.join(walDir, f), 'utf8')).split('\n')) if (line) out.push(Number(line.split('|')[0]));
  }
  return out;
}

describe('a directory restored to a moment between two archives, then written with the clock behind', () => {
  it('stamps its first new line after the restored state\'s time (restoredThroughTime), never before it', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const config = { dataDir, archive: { compression: { level: 1 } } };
    let db = await createDB({ storeConfig: config });
    await db.set('X', { v: 1 });
    await db.archive.create();
    await pause(20);
    const between = Date.now();
    await pause(20);
    await db.set('X', { v: 2 });
    await db.archive.create();
    await db.close();
    const copy = path.join(r, 'copy');
    await openRestore({ dataDir }).toTimestamp(between, { targetDir: copy });
    const restoredThroughTime = (await readArchiveState(copy))!.restoredThroughTime!;
    expect(restoredThroughTime).toBeGreaterThan(0);
    const real = Date.now.bind(Date);
    const behind = vi.spyOn(Date, 'now').mockImplementation(() => real() - 2 * 3_600_000);
    try {
      db = await createDB({ storeConfig: { ...config, dataDir: copy } });
      await db.set('Y', { v: 'after restore' });
      await db.close();
    } finally {
      behind.mockRestore();
    }
    const times = await lineTimes(copy);
    expect(times.length).toBeGreaterThan(0);
    expect(times[0]).toBeGreaterThan(restoredThroughTime);
  });
});
