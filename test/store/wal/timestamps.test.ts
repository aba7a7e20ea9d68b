import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BriStore } from '../../../src/store/store.js';
import { WalWriter } from '../../../src/store/wal/wal-writer.js';
import { makeTempDir } from '../../support/fixtures.js';

const walTimes = async (dataDir: string): Promise<number[]> => {
  const out: number[] = [];
  for (const f of (await fsp.readdir(path.join(dataDir, 'wal'))).sort()) {
    for (const line of (await fsp.readFile(path.join(dataDir, 'wal', f), 'utf8')).split('\n')) if (line !== '') out.push(Number(line.split('|')[0]));
  }
  return out;
};

describe('WAL times', () => {
  it('never go backwards when the clock is stepped back (NTP, a resumed VM)', async () => {
    const dataDir = await makeTempDir('bri-times-');
    const w = await WalWriter.open({ dataDir, segmentSize: 1 << 20, fsyncMode: 'always', batchIntervalMs: 100 }, { segment: 0, segmentBytes: 0, totalLines: 0, lastPointer: '' });
    const clock = [5_000, 6_000, 2_000, 2_500, 7_000, 6_999, 7_000];
    const stamped = clock.map((now, i) => w.append(JSON.stringify({ action: 'SET', target: `K${i}`, value: '1' }), now).timestamp);
    await w.close();
    expect(stamped).toEqual([5_000, 6_000, 6_000, 6_000, 7_000, 7_000, 7_000]);
    expect(await walTimes(dataDir)).toEqual(stamped);
  });

  it('continue from the last line\'s time when the database is opened again, even if the clock is now behind it', async () => {
    const dataDir = await makeTempDir('bri-times-');
    const db = await BriStore.open({ dataDir, snapshotOnClose: false });
    await db.set('A', { n: 1 });
    await db.close();
    // The last line as a clock an hour ahead stamped it (then corrected).
    const seg = path.join(dataDir, 'wal', (await fsp.readdir(path.join(dataDir, 'wal')))[0]!);
    const text = await fsp.readFile(seg, 'utf8');
    const ahead = Date.now() + 3_600_000;
    // The pointer covers the entry only, so the time can be changed without breaking the chain.
    await fsp.writeFile(seg, text.replace(/^\d+/, String(ahead)));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const again = await BriStore.open({ dataDir, snapshotOnClose: false });
      await again.set('B', { n: 2 });
      await again.set('C', { n: 3 });
      await again.close();
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    const times = await walTimes(dataDir);
    expect(times).toHaveLength(3);
    expect(times[1]).toBeGreaterThanOrEqual(ahead);
    // Said, once: lines that share the floor's time cannot be told apart by a point-in-time restore.
    const said = warnings.filter((w) => (w as Error & { code?: string }).code === 'BRI_CLOCK_BEHIND');
    expect(said).toHaveLength(1);
    expect(said[0]!.message).toMatch(/ahead of this host's clock/);
  });
});
