/**
 * The design note's error classes (its "Error Handling": ArchiveError, ArchiveNotFoundError,
 * ArchiveCorruptedError, RestoreError, PointInTimeError), caught as the note catches them: by class
 * and by its fields (archiveId, timestamp, availableRange), from real failures of the API.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveCorruptedError, ArchiveError, ArchiveNotFoundError, BriError, createDB, ErrorCodes, PointInTimeError, RestoreError } from '../../src/index.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-design-note-errors-');

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
}

describe("the design note's error classes", () => {
  it('real failures are instances of the classes of their codes, with the fields the note reads', async () => {
    const root = await tempDir();
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), archive: { compression: { level: 1 } } } });
    try {
      await db.set('K', { v: 1 });
      const made = await db.archive.create();
      const missing = await failure(db.archive.get('20200101T000000000Z-deadbeef'));
      expect(missing).toBeInstanceOf(ArchiveNotFoundError);
      expect(missing).toBeInstanceOf(ArchiveError);
      expect(missing).toBeInstanceOf(BriError);
      expect(missing).not.toBeInstanceOf(RestoreError);
      expect((missing as ArchiveNotFoundError).code).toBe('ARCHIVE_NOT_FOUND');

      const early = await failure(db.restore.toTimestamp('2001-01-01T00:00:00Z', { targetDir: path.join(root, 'then') }));
      expect(early).toBeInstanceOf(PointInTimeError);
      expect(early).toBeInstanceOf(RestoreError);
      expect(early).not.toBeInstanceOf(ArchiveNotFoundError);
      const pit = early as PointInTimeError;
      expect(pit.timestamp).toBe(Date.parse('2001-01-01T00:00:00Z'));
      expect(pit.availableRange).toEqual([{ start: made.manifest.timeRange.start, end: expect.any(Date) }]);

      const inPlace = await failure(db.restore.fromLatest());
      expect(inPlace).toBeInstanceOf(RestoreError);
      expect(inPlace).not.toBeInstanceOf(PointInTimeError);
      expect(new Error('plain')).not.toBeInstanceOf(ArchiveError);
    } finally {
      await db.close();
    }
  });

  it("the note's constructors make the errors it describes", () => {
    const nf = new ArchiveNotFoundError('arc_1');
    expect(nf).toMatchObject({ code: 'ARCHIVE_NOT_FOUND', message: 'Archive not found: arc_1', archiveId: 'arc_1' });
    const bad = new ArchiveCorruptedError('arc_2', ['wal/000000.wal.zst: sha256 differs']);
    expect(bad).toMatchObject({ code: 'ARCHIVE_CORRUPTED', archiveId: 'arc_2', checksumErrors: ['wal/000000.wal.zst: sha256 differs'] });
    expect(bad).toBeInstanceOf(ArchiveError);
    const pit = new PointInTimeError(0, [{ start: new Date(1), end: new Date(2) }]);
    expect(pit).toMatchObject({ code: ErrorCodes.TIMESTAMP_NOT_FOUND, timestamp: 0, availableRange: [{ start: new Date(1), end: new Date(2) }] });
    expect(pit).toBeInstanceOf(RestoreError);
    expect(new RestoreError('no')).toMatchObject({ code: 'RESTORE_ERROR', message: 'no' });
    expect(new ArchiveError('x')).toMatchObject({ code: 'ARCHIVE_ERROR' });
  });
});
