/**
 * Upload progress over a run that sends several archives to several remotes: the total of every archive x remote
 * is said before the first byte, so the figure never goes back (it went 100% -> 48% -> 100% -> 68% as each upload
 * began and grew the total) and never passes its total.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import type { ProgressEvent } from '../../../src/archive/package/progress.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-upload-progress-');

function expectSteady(events: ProgressEvent[]): void {
  expect(events.length).toBeGreaterThan(1);
  const totals = new Set(events.map((e) => e.totalBytes));
  expect([...totals]).toHaveLength(1);
  for (const [i, e] of events.entries()) {
    expect(e.doneBytes).toBeLessThanOrEqual(e.totalBytes);
    if (i > 0) expect(e.doneBytes).toBeGreaterThanOrEqual(events[i - 1]!.doneBytes);
  }
  expect(events.at(-1)!.doneBytes).toBe(events.at(-1)!.totalBytes);
}

describe('upload progress of one run', () => {
  it('announces the total of every archive and remote first: done never goes back and never passes the total (create, then upload)', async () => {
    const r = await tmp();
    const nas1 = path.join(r, 'nas1');
    const nas2 = path.join(r, 'nas2');
    await fsp.mkdir(nas1);
    const db = await createDB({
      storeConfig: {
        dataDir: path.join(r, 'data'),
        archive: { compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas1', path: nas1 }, { provider: 'local', name: 'nas2', path: nas2 }], hooks: { onError: () => undefined } },
      },
    });
    try {
      const fill = async (n: number) => {
        for (let i = 0; i < n; i++) await db.set(`k${i}`, { v: randomBytes(2000).toString('base64') });
      };
      // nas2 is down for two archives, back for the third: that create sends 2 old archives and the new one to it.
      for (let i = 0; i < 2; i++) {
        await fill(30);
        await db.archive.create();
      }
      await fsp.mkdir(nas2);
      await fill(30);
      const seen: ProgressEvent[] = [];
      const made = await db.archive.create({ onProgress: (e) => void (e.operation === 'upload' && seen.push(e)) });
      expect(made.uploads.filter((u) => u.outcome === 'uploaded')).toHaveLength(4);
      expectSteady(seen);
      const sizes = await Promise.all(made.uploads.map(async (u) => (await fsp.stat(path.join(u.source === 'nas1' ? nas1 : nas2, 'archives', `${u.archiveId}.bri`))).size));
      expect(seen[0]!.totalBytes).toBe(sizes.reduce((a, b) => a + b, 0));

      // `upload` after every copy went missing from nas2 (its archives deleted; the disk itself, with its marker, still
      // there: an empty directory in its place is a disk not mounted): the same steady figure.
      await fsp.rm(path.join(nas2, 'archives'), { recursive: true });
      const again: ProgressEvent[] = [];
      const sent = await db.archive.upload({ onProgress: (e) => void again.push(e) });
      expect(sent.filter((u) => u.outcome === 'uploaded')).toHaveLength(3);
      expectSteady(again);
    } finally {
      await db.close();
    }
  });
});
