/**
 * The CLI's commands finish a restore a crash interrupted before they read a data directory, as the store's open
 * does; the store's open says what that recovery did (BRI_RESTORE_RECOVERED), the CLI's offline commands said
 * nothing (an old directory left aside, a swap finished behind the user's back).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-recovered-said-');

describe('an interrupted restore finished by a CLI command', () => {
  it('is said on stderr (a JSON warning line under --json) by data stats, as the store\'s open says it', async () => {
    const parent = await tmp();
    const target = path.join(parent, 'data');
    const db = await createDB({ storeConfig: { dataDir: target } });
    await db.set('K', { v: 1 });
    await db.close();
    const oldDir = `${target}.pre-restore-20260101T000000000Z`;
    await fsp.mkdir(oldDir);
    await fsp.writeFile(path.join(parent, '.data.restore.json'), JSON.stringify({ target, newDir: `${target}.restore-20260101T000000000Z`, oldDir, phase: 'swapping', cleanExisting: true, carryOver: [] }));
    const r = await runCli(['data', 'stats', '-d', target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { warning: { code: string; message: string } });
    expect(warnings).toEqual([{ warning: expect.objectContaining({ code: 'BRI_RESTORE_RECOVERED', message: expect.stringContaining(`opening ${target}: `) }) }]);
    expect(fs.existsSync(path.join(parent, '.data.restore.json'))).toBe(false);
  });
});
