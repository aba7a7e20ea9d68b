/**
 * Seconds since the epoch (`date +%s`) are refused instead of read as milliseconds, a moment in
 * January 1970 before any archive, where a history answered "no change" and a restore nothing.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { parseRetention, parseTime } from '../../src/format/input.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { usageOf } from '../support/usage-error.js';

const tempDir = useTempDirs('bri-epoch-seconds-');
const NOW = Date.UTC(2026, 5, 15);


describe('epoch seconds are not read as milliseconds', () => {
  it('a 9 to 11 digit time looks like seconds: refused with the milliseconds and ISO forms to give instead', () => {
    const err = usageOf(() => parseTime('1772000000', '--to'));
    expect(err.message).toBe('--to "1772000000" is not a time: it looks like seconds since the epoch (2026-02-25T06:13:20.000Z); as milliseconds it would be 1970-01-21T12:13:20.000Z');
    expect(err.hint).toBe('Give --to in milliseconds (add 000: 1772000000000) or as an ISO time (2026-02-25T06:13:20.000Z).');
    for (const seconds of ['100000000', '999999999', '99999999999', '0001772000000']) usageOf(() => parseTime(seconds));
  });

  it('milliseconds, and digits too small to mean seconds, are still read as milliseconds', () => {
    for (const ms of ['0', '1000', '99999999', '100000000000', '1772000000000']) expect(parseTime(ms)).toBe(Number(ms));
    expect(parseTime(1_772_000_000)).toBe(1_772_000_000); // a number from the API is taken as it is
  });

  it('bri archive history --to <epoch seconds> is USAGE (exit 2), not "no change"', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    await db.set('A', { v: 1 });
    await db.archive.create();
    await db.close();
    const seconds = String(Math.floor(Date.now() / 1000));
    const r = await runCli(['archive', 'history', 'A', '-d', dataDir, '--to', seconds]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`--to "${seconds}" is not a time: it looks like seconds since the epoch`);
    expect(r.stderr).toContain(`add 000: ${seconds}000`);
    // As the hint says (add 000): the start of that second, never a moment not come yet (999 could be).
    const ms = await runCli(['archive', 'history', 'A', '-d', dataDir, '--to', `${seconds}000`]);
    expect(ms.code, ms.stderr).toBe(0);
  });
});

describe('epoch seconds as a --retention date', () => {
  it('are refused with the reason, not read as a 1970 date already past', () => {
    expect(usageOf(() => parseRetention('1900000000', NOW, '--retention')).message).toContain('looks like seconds since the epoch');
  });
});
