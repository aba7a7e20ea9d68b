/**
 * writeFileDurable with data in pieces (how snapshots are written): the file holds exactly the
 * pieces joined, whatever their sizes and characters, written through one kept buffer.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeFileDurable } from '../../src/store/durable-fs.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-durable-');

describe('writeFileDurable in pieces', () => {
  it('writes the pieces joined: multi-byte characters, pieces past the buffer, many small ones across its end', async () => {
    const dir = await tmp();
    const big = 'é'.repeat(400_000) + '😀'.repeat(100_000);
    const pieces = ['{"a":', '"é€😀"', ...Array.from({ length: 30_000 }, (_, i) => `,"k${i}":"${'x€'.repeat(i % 50)}"`), big, '}', '', 'z'.repeat(1_048_576), 'tail'];
    const file = path.join(dir, 'f');
    await writeFileDurable(file, pieces);
    const got = await fsp.readFile(file);
    expect(got.equals(Buffer.from(pieces.join(''), 'utf8'))).toBe(true);
    expect(await fsp.readdir(dir)).toEqual(['f']);
  });

  it('equals the joined text for any pieces of whole strings (property)', async () => {
    const dir = await tmp();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.constantFrom('', 'a'.repeat(400_000), '€'.repeat(300_000))), { maxLength: 60 }), async (pieces) => {
        const file = path.join(dir, `p${n++}`);
        await writeFileDurable(file, pieces);
        expect((await fsp.readFile(file)).equals(Buffer.from(pieces.join(''), 'utf8'))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
