/**
 * A time inside the newest archive, whose every copy cannot be read (its manifest cut): that archive's
 * damage, ARCHIVE_CORRUPTED naming the file. It was "in no archive yet, `bri archive create`", whose create
 * then said there was nothing to archive: a circle.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-time-unreadable-');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('restore to a time in the newest archive when no copy of it can be read', () => {
  it('is ARCHIVE_CORRUPTED naming the unreadable file, not "in no archive yet, bri archive create"', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    const made = [];
    for (const k of ['A', 'B', 'C']) {
      await db.set(k, { k });
      await pause(5);
      made.push(await db.archive.create());
    }
    await db.close();
    const inside = made[2]!.manifest.timeRange.end.getTime();
    await fsp.writeFile(made[2]!.file, (await fsp.readFile(made[2]!.file)).subarray(0, 700));
    const cli = await runCli(['restore', 'to-timestamp', new Date(inside).toISOString(), '-d', dataDir, '--target', path.join(dataDir, '..', 't'), '--json']);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('ARCHIVE_CORRUPTED');
    expect(cli.stderr).toContain(made[2]!.file);
    expect(cli.stderr).not.toContain('in no archive yet');
    expect(cli.stderr).toContain('bri archive repair');
  }, 60_000);
});
