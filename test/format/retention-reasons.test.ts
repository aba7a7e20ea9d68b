/**
 * A refused --retention date says why (the calendar, the zone) as --at does, instead of only
 * listing the forms.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { parseRetention } from '../../src/format/input.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { usageOf } from '../support/usage-error.js';

const tempDir = useTempDirs('bri-retention-reason-');
const NOW = Date.UTC(2026, 5, 15);


describe('a refused --retention date says why', () => {
  it('the calendar and the missing zone are named, with the retention forms as the hint', () => {
    expect(usageOf(() => parseRetention('2027-02-30', NOW, '--retention')).message).toBe(`--retention "2027-02-30" is not 'permanent', a number of days or a date: month 02 of 2027 has no day 30`);
    expect(usageOf(() => parseRetention('2027-01-01T00:00', NOW, '--retention')).message).toContain('a time of day needs its zone');
    const word = usageOf(() => parseRetention('forever', NOW, '--retention'));
    expect(word.message).toBe(`--retention "forever" is not 'permanent', a number of days or a date`);
    expect(word.hint).toMatch(/'permanent', a number of days .*30d.*a date/);
  });

  it('bri archive create --retention 2027-02-30 names the missing day', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    await db.set('A', { v: 1 });
    await db.close();
    const r = await runCli(['archive', 'create', '-d', dataDir, '--retention', '2027-02-30']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('month 02 of 2027 has no day 30');
  });
});
