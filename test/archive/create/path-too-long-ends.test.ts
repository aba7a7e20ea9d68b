/**
 * A data directory whose path is long but valid (about 4000 bytes): the create's staged members under
 * archives/.tmp/ go past the longest path the system takes. The command printed ENAMETOOLONG with no hint and
 * then never exited (the zstd worker stayed referenced by the failed call): a cron job that never ends. It
 * now ends with IO_ERROR and a hint about the path's length; the data directory still verifies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-path-too-long-');

describe('a create whose files would have paths too long', () => {
  it('ends (no hang) with IO_ERROR naming the length; the data directory is untouched and verifies', async () => {
    let dir = await tmp();
    while (dir.length < 3700) dir = path.join(dir, 'a'.repeat(Math.min(250, 3750 - dir.length)));
    const dataDir = path.join(dir, 'b'.repeat(4000 - dir.length - 1));
    fs.mkdirSync(dataDir, { recursive: true });
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 1024 } });
    for (let i = 0; i < 40; i++) await db.set(`K${i}`, { i, pad: 'x'.repeat(50) });
    await db.close();
    const r = await runCli(['archive', 'create', '-d', dataDir]);
    expect(r.signal ?? null, 'the command was killed: it did not end by itself').toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('IO_ERROR');
    expect(r.stderr).toMatch(/hint: .*longer than the file system takes/);
    const verified = await runCli(['data', 'verify', '-d', dataDir]);
    expect(verified.code, verified.stderr).toBe(0);
  }, 120_000);
});
