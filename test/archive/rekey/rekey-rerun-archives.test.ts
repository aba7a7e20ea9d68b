/**
 * A rekey run again over archives the first run rewrapped. The text said "rekeyed <id>: no copy" of an
 * archive whose local copy was for the new recipients already, and an archive held only by a remote
 * (keepLocal removed its local copy) was downloaded and opened with the old identity: DECRYPTION_FAILED,
 * exit 12, so a finished rekey could not be run again and a stopped one never finished.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { ageKeyFile, NO_AGE_ENV } from '../../support/age-keys.js';

const tmp = useTempDirs('bri-rekey-rerun-archives-');

describe('archive rekey run again over archives already rewrapped', () => {
  it('says which copies were for the new recipients already, local and remote-only ones alike, and exits 0', async () => {
    const r = await tmp();
    const [k1, k2] = [await ageKeyFile(r, 'k1'), await ageKeyFile(r, 'k2')];
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const dataDir = path.join(r, 'data');
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], keepLocal: 1, compression: { level: 1 }, encryption: { recipients: [k1.recipient] } };
    const db = await createDB({ storeConfig: { dataDir, archive } });
    await db.set('A', { v: 1 });
    const first = await db.archive.create();
    await db.set('B', { v: 2 });
    const second = await db.archive.create();
    await db.close();
    const ids = [first.archiveId, second.archiveId];
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ archive }));
    const rekey = () => runCli(['archive', 'rekey', '-d', dataDir, '-c', cfg, '--recipient', k2.recipient, '-i', k1.file], NO_AGE_ENV);

    const once = await rekey();
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toContain(`rekeyed ${ids[0]}: nas\n`);

    const again = await rekey();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/no copy/);
    expect(again.stdout).toContain(`rekeyed ${ids[0]}: nas (for the new recipients already)`);
    expect(again.stdout).toMatch(new RegExp(`rekeyed ${ids[1]}: .*local \\(for the new recipients already\\).*nas \\(for the new recipients already\\)`));

    const json = await runCli(['archive', 'rekey', '-d', dataDir, '-c', cfg, '--recipient', k2.recipient, '-i', k1.file, '--json'], NO_AGE_ENV);
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout) as { archives: Array<{ archiveId: string; sources: string[]; alreadyNew: string[] }> };
    expect(out.archives).toEqual([
      { archiveId: ids[0], sources: [], alreadyNew: ['nas'] },
      { archiveId: ids[1], sources: [], alreadyNew: ['local', 'nas'] },
    ]);

    const target = path.join(r, 'restored');
    const back = await runCli(['restore', 'from', ids[0]!, '-d', dataDir, '-c', cfg, '-i', k2.file, '--target', target], NO_AGE_ENV);
    expect(back.code, back.stdout + back.stderr).toBe(0);
  }, 120_000);
});
