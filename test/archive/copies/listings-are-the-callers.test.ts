/**
 * A listing is the caller's to keep and reshape: the manifests handed out were the process-wide cache's own
 * objects, so an application that made their Dates strings for its JSON API, in place, broke every later
 * create (`getTime is not a function`: no archive until a restart), stats and restore; a name changed in
 * place came back from the next list, though the file held the old one.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import type { Manifest } from '../../../src/format/manifest.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-listings-callers-');

/** What an application does to make a listing JSON: its dates made strings, in place. */
function reshape(manifests: Manifest[]): void {
  for (const m of manifests) {
    const range = m.timeRange as unknown as Record<string, unknown>;
    for (const k of ['start', 'end', 'sealedAt']) range[k] = (range[k] as Date).toISOString();
    (m as unknown as Record<string, unknown>).createdAt = m.createdAt.toISOString();
    m.name = 'renamed by the app';
  }
}

describe('listings handed to the application', () => {
  for (const via of ['db.archive.list', 'db.restore.list', 'db.archive.get'] as const) {
    it(`${via}: reshaped in place, later creates, stats, restores and listings are unaffected`, async () => {
      const root = await tmp();
      const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), archive: { compression: { level: 1 } } } });
      try {
        await db.set('A', { v: 1 });
        const first = await db.archive.create({ name: 'first' });
        if (via === 'db.archive.list') reshape((await db.archive.list()).map((a) => a.manifest));
        else if (via === 'db.restore.list') reshape((await db.restore.list()).archives.map((a) => a.manifest));
        else reshape([(await db.archive.get(first.archiveId)).manifest]);
        await db.set('A', { v: 2 });
        const second = await db.archive.create();
        expect(second.manifest.previousArchiveId).toBe(first.archiveId);
        expect((await db.archive.stats()).archives).toBe(2);
        const listed = await db.archive.list();
        expect(listed[0]!.manifest.name).toBe('first');
        expect(listed[0]!.manifest.timeRange.end).toBeInstanceOf(Date);
        expect((await db.restore.list()).archives[0]!.manifest.createdAt).toBeInstanceOf(Date);
        const r = await db.restore.toTimestamp(Date.now(), { targetDir: path.join(root, 'at-now') });
        expect(r.lastLine).toBe(second.manifest.timeRange.walLines.end);
        expect(String((await db.restore.read('A', { at: Date.now() })).document)).toBe('{"v":2}');
      } finally {
        await db.close();
      }
    });
  }
});
