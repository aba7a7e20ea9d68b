/**
 * A damaged WAL member under time travel: the member's stored bytes are checked (on the decoder
 * thread, before a line is decoded) and a damaged one is ARCHIVE_CORRUPTED naming it, for history,
 * read and diff alike; once the archive is repaired from its PAR2 data the same questions answer.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { memberOffsets } from '../../../src/archive/timetravel/member-bytes.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-tt-damage-');

describe('time travel over a damaged member', () => {
  it('says which member is damaged, and answers again after a repair', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } }, walSegmentSize: 4096 } });
    try {
      for (let i = 0; i < 400; i++) await db.set(`K${i % 40}`, { i, pad: 'x'.repeat(60) });
      const mid = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      for (let i = 0; i < 100; i++) await db.set(`K${i % 40}`, { i: 1000 + i });
      const info = await db.archive.create();
      const before = await db.restore.history('K7');
      const readBefore = await db.restore.read('K7', { at: mid });
      const diffBefore = await db.restore.diff({ at: mid });
      expect(before.entries.length).toBe(13);

      // One byte of the third WAL member, located as the reader locates it (after the manifest's tar header and body).
      const archive = await db.archive.get(info.archiveId);
      const m = archive.manifest;
      const local = archive.copies.find((c) => c.source === 'local')!;
      const file = local.file ?? local.location;
      const bytes = await fsp.readFile(file);
      const manifestSize = parseInt(bytes.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
      const seg = m.contents.segments[2]!;
      const at = memberOffsets(m, manifestSize).get(seg.file)!;
      bytes[at.offset + Math.floor(at.size / 2)]! ^= 0xff;
      await fsp.writeFile(file, bytes);

      for (const ask of [() => db.restore.history('K7'), () => db.restore.read('K7', { at: m.timeRange.end.getTime() }), () => db.restore.diff({ at: mid })]) {
        await expect(ask()).rejects.toMatchObject({ code: 'ARCHIVE_CORRUPTED', details: { member: seg.file } });
      }

      await db.archive.repair(info.archiveId, { inPlace: true });
      expect(await db.restore.history('K7')).toEqual(before);
      expect(await db.restore.read('K7', { at: mid })).toEqual(readBefore);
      expect(await db.restore.diff({ at: mid })).toEqual(diffBefore);
    } finally {
      await db.close();
    }
  });
});
