/**
 * The `triggers` block as createDB validates it: a trigger that would never fire, or `manual: false`
 * with no trigger to make archives, is refused before the data directory is touched, never run as configured.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { parseArchiveConfig } from '../../../src/archive/config.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-triggers-config-');

describe('archive.triggers', () => {
  it.each([
    ['0 0 30 2 *', '30 February'],
    ['0 0 31 4 *', '31 April'],
    ['0 0 0 1 1 * 2020', 'a year gone by'],
  ])('refuses a schedule no time to come matches (%s: %s), before the data directory is made', async (schedule) => {
    const dataDir = path.join(await tempDir(), 'data');
    await expect(createDB({ storeConfig: { dataDir, archive: { triggers: { schedule } } } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/^archive\.triggers\.schedule: never fires: no time from now on matches it/),
    });
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('takes a schedule that fires rarely (29 February) and one that is not a cron expression stays refused as such', () => {
    expect(parseArchiveConfig({ triggers: { schedule: '0 0 29 2 *' } }).triggers.schedule).toBe('0 0 29 2 *');
    expect(() => parseArchiveConfig({ triggers: { schedule: '61 * * * *' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^archive\.triggers\.schedule: is not a cron expression/) }));
  });

  it.each([
    [{ manual: true, intervalMs: 1000 }],
    [{ manual: true, schedule: '0 2 * * *', walSizeMB: 100, walSegments: 10 }],
    [{ manual: true }],
    [{ manual: false, walEntries: 10 }],
  ])("takes manual as the design note means it, allowing archives by hand beside the triggers or not (%j)", (triggers) => {
    expect(parseArchiveConfig({ triggers }).triggers).toEqual(triggers);
  });

  it.each([[{ manual: false }], [{ manual: false, schedule: undefined }]])('refuses manual: false with no trigger (%j): no archive would ever be made, before the data directory is made', async (triggers) => {
    const dataDir = path.join(await tempDir(), 'data');
    await expect(createDB({ storeConfig: { dataDir, archive: { triggers } } })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('archive.triggers.manual: false leaves the archives to the triggers, and none is set'),
    });
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
