/** A repair that cannot repair leaves nothing behind: not the `repaired/` folder it would have written into. */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-repair-nothing-');

describe('archive repair beyond repair', () => {
  it('exits 21 and leaves no empty repaired/ folder among the archives', async () => {
    const r = await root();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { errorCorrection: { enabled: false }, compression: { level: 1 } } } });
    for (let i = 0; i < 5; i++) await db.set(`A_${i}`, { v: i });
    const { archiveId, file } = await db.archive.create();
    await db.close();
    const fh = await fsp.open(file, 'r+');
    await fh.write(Buffer.from('XXXX'), 0, 4, 1100);
    await fh.close();
    const repaired = await runCli(['archive', 'repair', archiveId, '-d', dataDir]);
    expect(repaired.code, repaired.stderr).toBe(21);
    expect(fs.existsSync(path.join(dataDir, 'archives', 'repaired'))).toBe(false);
  });

  it('an archive made without recovery data whose manifest is damaged: verify says no recovery data was found, not that its PAR2 data is damaged', async () => {
    const r = await root();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { errorCorrection: { enabled: false }, compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    const { archiveId, file } = await db.archive.create();
    await db.close();
    const bytes = await fsp.readFile(file);
    const at = bytes.indexOf('"archiveId"') + 20;
    bytes[at] = bytes[at]! ^ 0xff;
    await fsp.writeFile(file, bytes);
    const verified = await runCli(['archive', 'verify', archiveId, '-d', dataDir]);
    expect(verified.code).not.toBe(0);
    expect(verified.stdout + verified.stderr).toMatch(/no recovery data found \(an archive made without PAR2/);
  });
});
