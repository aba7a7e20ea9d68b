import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { scratchPath, sweepScratch } from '../../../src/archive/package/scratch.js';
import { madeHereCount } from '../../../src/store/lock/process-identity.js';
import { makeTempDir } from '../../support/fixtures.js';

describe('scratch files', () => {
  it('the sweep removes a dead process\'s and an earlier process\'s with this pid (a restarted container), and keeps this process\'s, whatever their times say', async () => {
    const dir = await makeTempDir('bri-scratch-');
    const mine = scratchPath(dir, 'download');
    await fsp.writeFile(mine, 'now');
    // A name an earlier process with this pid made (not through this process's scratchPath), a minute before this process started.
    const earlier = path.join(dir, path.basename(mine).replace(/\.[0-9a-f]{8}\.download$/, '.0badcafe.repaired'));
    await fsp.mkdir(earlier);
    await fsp.writeFile(path.join(earlier, 'part'), 'x');
    const before = new Date(performance.timeOrigin - 60_000);
    await fsp.utimes(earlier, before, before);
    // A process of this host that is gone.
    const dead = path.join(dir, path.basename(scratchPath(dir, 'x')).replace(`.${process.pid}.`, `.${2 ** 22 + 777}.`));
    await fsp.writeFile(dead, 'old');
    const unrelated = path.join(dir, 'keep.bri');
    await fsp.writeFile(unrelated, 'data');

    // This process's own, made after the clock was stepped back an hour: its time says nothing, its name does.
    const mineAfterStep = scratchPath(dir, 'upload');
    await fsp.writeFile(mineAfterStep, 'x');
    await fsp.writeFile(`${mineAfterStep}.123456.tmp`, 'x');
    const hourAgo = new Date(performance.timeOrigin - 3_600_000);
    await fsp.utimes(mineAfterStep, hourAgo, hourAgo);
    await fsp.utimes(`${mineAfterStep}.123456.tmp`, hourAgo, hourAgo);

    const removed = await sweepScratch(dir);
    expect(removed.sort()).toEqual([path.basename(earlier), path.basename(dead)].sort());
    expect((await fsp.readdir(dir)).sort()).toEqual([path.basename(mine), path.basename(mineAfterStep), `${path.basename(mineAfterStep)}.123456.tmp`, 'keep.bri'].sort());
  });

  it('a long-running process forgets the scratch files it made once they are gone, and keeps knowing those that remain', async () => {
    const dir = await makeTempDir('bri-scratch-');
    const kept = scratchPath(dir, 'kept');
    await fsp.writeFile(kept, 'x');
    const hourAgo = new Date(performance.timeOrigin - 3_600_000);
    await fsp.utimes(kept, hourAgo, hourAgo);
    for (let i = 0; i < 300; i++) scratchPath(dir, `gone-${i}`); // made and removed (never written here)
    expect(madeHereCount()).toBeGreaterThanOrEqual(301);
    vi.useFakeTimers({ now: Date.now() + 11 * 60_000, toFake: ['Date'] });
    try {
      scratchPath(dir, 'one-more');
    } finally {
      vi.useRealTimers();
    }
    expect(madeHereCount()).toBeLessThan(10);
    // The one that still exists is still this process's: the sweep keeps it although its time is older than the process.
    expect(await sweepScratch(dir)).toEqual([]);
    expect(await fsp.readdir(dir)).toEqual([path.basename(kept)]);
  });
});
