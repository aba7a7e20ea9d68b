/**
 * Progress figures a bar is drawn from: create read 100% (the WAL's bytes) through the snapshot, package and PAR2
 * phases, most of a run; verify ended above 100% (checksums.sha256 counted in done, not in total).
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/archive/package/progress.js';
import { createDB } from '../../src/db.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-progress-figures-');

describe('progress figures', () => {
  it("create's snapshot, package and PAR2 phases are named alone, not shown at the WAL's 100%; verify's done never passes its total and ends at it", async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      for (let i = 0; i < 200; i++) await db.set(`k${i}`, { v: randomBytes(1000).toString('base64') });
      const created: ProgressEvent[] = [];
      const made = await db.archive.create({ onProgress: (e) => created.push(e) });
      const after = created.filter((e) => ['snapshot', 'package', 'recovery'].includes(e.phase));
      expect(after.map((e) => e.phase)).toEqual(expect.arrayContaining(['snapshot', 'package', 'recovery']));
      for (const e of after) expect({ phase: e.phase, doneBytes: e.doneBytes, totalBytes: e.totalBytes }).toEqual({ phase: e.phase, doneBytes: 0, totalBytes: 0 });
      const verified: ProgressEvent[] = [];
      await db.archive.verify(made.archiveId, { onProgress: (e) => verified.push(e) });
      const bytes = verified.filter((e) => e.phase === 'verify' && e.totalBytes > 0);
      expect(bytes.length).toBeGreaterThan(0);
      for (const e of bytes) expect(e.doneBytes, e.item).toBeLessThanOrEqual(e.totalBytes);
      expect(bytes.at(-1)!.doneBytes).toBe(bytes.at(-1)!.totalBytes);
    } finally {
      await db.close();
    }
  });
});
