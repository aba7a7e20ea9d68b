/**
 * An archive's own retention date with no retention policy configured: the archive job applies it after the
 * next create (it never did), and `bri archive prune` that removed it says what it removed (it said
 * "no retention policy is configured ...: nothing expires, nothing was removed").
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-own-retention-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("an archive's own retention date, no policy configured", () => {
  it('expires it at the next create of the running database, and bri archive prune says what it removed', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('A', { v: 1 });
    const a1 = await db.archive.create({ retention: new Date(Date.now() + 1500) });
    await db.set('B', { v: 1 });
    await db.archive.create();
    await sleep(1700);
    await db.set('C', { v: 1 });
    const a3 = await db.archive.create();
    expect(a3.prune && 'removed' in a3.prune ? a3.prune.removed.map((d) => d.archiveId) : a3.prune).toEqual([a1.archiveId]);
    expect(fs.existsSync(a1.file)).toBe(false);
    // Another with its own date, pruned by the CLI.
    await db.set('D', { v: 1 });
    const a4 = await db.archive.create({ retention: new Date(Date.now() + 1500) });
    await db.set('E', { v: 1 });
    await db.archive.create();
    await db.close();
    await sleep(1700);
    const res = await runCli(['archive', 'prune', '-d', dataDir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`removed local: ${a4.archiveId}`);
    expect(res.stdout).not.toMatch(/nothing was removed/);
    expect(fs.existsSync(a4.file)).toBe(false);
  });
});
