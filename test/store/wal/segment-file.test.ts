import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SegmentFile } from '../../../src/store/wal/segment-file.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-segfile-');

async function dataDir(): Promise<string> {
  const dir = await tempDir();
  await fsp.mkdir(path.join(dir, 'wal'));
  return dir;
}

describe('SegmentFile: writes behind, in batches', () => {
  it('property: whatever the sizes of the pieces appended, the file holds exactly their bytes in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 600_000 }), { minLength: 1, maxLength: 12 }), async (sizes) => {
        const dir = await dataDir();
        const out = await SegmentFile.create(dir, 0);
        const pieces = sizes.map((n) => randomBytes(n));
        for (const p of pieces) await out.append(p, 1);
        await out.finish();
        expect((await fsp.readFile(out.path)).equals(Buffer.concat(pieces))).toBe(true);
      }),
      { numRuns: 15 },
    );
  });

  it('a write that fails is thrown by finish(), not lost', async () => {
    const dir = await dataDir();
    const out = await SegmentFile.create(dir, 0);
    // The handle closed under it: the write behind fails.
    await (out as unknown as { fh: fsp.FileHandle }).fh.close();
    await out.append(randomBytes(2 * 1024 * 1024), 1).catch(() => undefined);
    await expect(out.finish()).rejects.toThrow();
  });

  it('strings are written as UTF-8, and a segment with no line is removed', async () => {
    const dir = await dataDir();
    const a = await SegmentFile.create(dir, 0);
    await a.append('é|x\n', 1);
    await a.finish();
    expect(await fsp.readFile(a.path, 'utf8')).toBe('é|x\n');
    const b = await SegmentFile.create(dir, 1);
    await b.finish();
    await expect(fsp.stat(b.path)).rejects.toThrow();
  });
});
