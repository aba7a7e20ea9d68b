/**
 * A local remote whose directory goes away while puts are under way (a disk or share unmounted, or moved):
 * a put that had checked the directory then made it again, with its parents, on this machine's disk, and
 * the copy put there counted as the remote's. No put makes the root: each fails REMOTE_NOT_FOUND (or as
 * the file system says), and the directory stays gone.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalRemote } from '../../src/remote/local.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-local-root-gone-');

describe('a local remote whose directory goes away during puts', () => {
  it('is never made again by a put: puts into new folders racing its removal fail, and it stays gone', async () => {
    const root = await tmp();
    const share = path.join(root, 'share');
    const file = path.join(root, 'object.bin');
    const bytes = Buffer.alloc(64 * 1024, 7);
    await fsp.writeFile(file, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    for (let round = 0; round < 20; round++) {
      await fsp.mkdir(share);
      const store = createLocalRemote({ path: share });
      const puts = Array.from({ length: 16 }, (_, i) => store.put(`r${round}/d${i}/x.bin`, { path: file }, { size: bytes.length, sha256 }).then(() => 'ok', (err: { code?: string }) => err.code ?? 'error'));
      // Gone while they run: moved away whole, as an unmount takes it.
      await new Promise((r) => setTimeout(r, round % 4));
      await fsp.rename(share, path.join(root, `away-${round}`));
      const outcomes = await Promise.all(puts);
      expect(outcomes.every((o) => o === 'ok' || o === 'REMOTE_NOT_FOUND' || o === 'REMOTE_ERROR')).toBe(true);
      await expect(fsp.stat(share)).rejects.toMatchObject({ code: 'ENOENT' });
    }
  }, 60_000);
});
