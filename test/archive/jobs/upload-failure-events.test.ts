/**
 * A failed upload (a remote that cannot be reached) is told where failures are told: an 'upload' event
 * with the failed outcome and the configuration's onError hook with a typed REMOTE_ERROR naming the
 * remote; the archive it could not upload stays made (create resolves, 'finished', not 'failed').
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { isBriError, type BriError } from '../../../src/errors.js';
import type { ReplicationEvent } from '../../../src/archive/copies/upload.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-upload-fail-');

describe('a failed upload', () => {
  it('emits a failed upload event and calls onError with REMOTE_ERROR naming the remote, and the create still resolves with the archive', async () => {
    const r = await tmp();
    const nas = path.join(r, 'nas-not-mounted');
    const errors: unknown[] = [];
    const db = await createDB({
      storeConfig: {
        dataDir: path.join(r, 'data'),
        archive: { compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }], hooks: { onError: (e) => void errors.push(e) } },
      },
    });
    try {
      const events: ReplicationEvent[] = [];
      const failed: unknown[] = [];
      db.archive.on('upload', (e) => events.push(e));
      db.archive.on('failed', (e) => failed.push(e));
      await db.set('A', { v: 1 });
      const made = await db.archive.create();
      expect(made.uploads).toEqual([expect.objectContaining({ source: 'nas', outcome: 'failed' })]);
      expect(events).toContainEqual(expect.objectContaining({ kind: 'upload-done', status: expect.objectContaining({ archiveId: made.archiveId, source: 'nas', outcome: 'failed' }) }));
      expect(failed).toEqual([]);
      expect(errors).toHaveLength(1);
      const err = errors[0] as BriError;
      expect(isBriError(err, 'REMOTE_ERROR')).toBe(true);
      expect(err.message).toMatch(new RegExp(`${made.archiveId}.*nas`));
      expect(err.details).toMatchObject({ archiveId: made.archiveId, remote: 'nas' });
      expect(err.hint).toMatch(/upload/);
      // The retry of a later run that still cannot reach it says so again; one that reaches it says nothing.
      await fsp.mkdir(nas);
      await db.set('A', { v: 2 });
      const again = await db.archive.create();
      expect(again.uploads.every((u) => u.outcome !== 'failed')).toBe(true);
      expect(errors).toHaveLength(1);
    } finally {
      await db.close();
    }
  });
});
