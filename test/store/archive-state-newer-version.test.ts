/**
 * bri-archive.json written by a newer bri (its format version 2) was called damaged ("restore it from a backup"),
 * which would throw away what that version recorded: it is told apart now, and left as it is.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-state-newer-');

describe('bri-archive.json of a newer format version', () => {
  it('archive create says it was written by a newer version of bri and to upgrade, not that it is damaged; the file is kept', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('A', { v: 1 });
    await db.close();
    expect((await runCli(['archive', 'create', '-q', '-d', dataDir])).code).toBe(0);
    const file = path.join(dataDir, 'bri-archive.json');
    const newer = JSON.stringify({ ...(JSON.parse(await fsp.readFile(file, 'utf8')) as object), version: 2 });
    await fsp.writeFile(file, newer);
    const res = await runCli(['archive', 'create', '-q', '-d', dataDir]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/bri-archive\.json in .* was written by a newer version of bri \(its format version 2; this one reads version 1\)/);
    expect(res.stderr).toMatch(/hint: Upgrade bri-archive/);
    expect(res.stderr).not.toMatch(/damaged|from a backup/);
    expect(fs.readFileSync(file, 'utf8')).toBe(newer);
  });
});
