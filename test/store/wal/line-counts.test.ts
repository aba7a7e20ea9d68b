/** Cached line counts of WAL segments: never stale after the file changes (append, torn tail cut, replaced). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { countSegmentLines, countSegmentLinesCached } from '../../../src/store/wal/wal-reader.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-line-counts-');

describe('countSegmentLinesCached', () => {
  it('equals a fresh count after every kind of change to the file', async () => {
    const file = path.join(await tempDir(), '000001.wal');
    fs.writeFileSync(file, 'a\nb\n');
    const check = async () => expect(await countSegmentLinesCached(file)).toEqual(await countSegmentLines(file));
    await check();
    expect((await countSegmentLinesCached(file)).lines).toBe(2);
    fs.appendFileSync(file, 'c\nd'); // a torn tail counts as a line
    await check();
    expect(await countSegmentLinesCached(file)).toMatchObject({ lines: 4, torn: true });
    fs.truncateSync(file, 6); // the torn tail cut off
    await check();
    expect((await countSegmentLinesCached(file)).lines).toBe(3);
    // Replaced by another file of the same size (a restore swaps directories): another inode.
    const other = `${file}.new`;
    fs.writeFileSync(other, 'x\ny\nzz'); // 6 bytes, as before
    fs.renameSync(other, file);
    await check();
    expect(await countSegmentLinesCached(file)).toMatchObject({ lines: 3, torn: true });
  });
});
