/**
 * `restore latest` when the newest archive cannot be read on any copy (its manifest cut): it was exit 0
 * from the archive before it, the newest lines silently left out. It is ARCHIVE_CORRUPTED naming the file,
 * as when a member of it rotted; `restore from <older id>` restores the older state on purpose.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-newest-unreadable-');

describe('restore latest with the newest archive unreadable everywhere', () => {
  it('is ARCHIVE_CORRUPTED (exit 21) naming the file, nothing restored; restore from the older one works', async () => {
    const r = await root();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], compression: { level: 1 } };
    const config = path.join(r, 'archive.json');
    await fsp.writeFile(config, JSON.stringify(archive));
    const db = await createDB({ storeConfig: { dataDir, archive } });
    const ids: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 10; i++) await db.set(`R${round}_${i}`, { i });
      ids.push((await db.archive.create()).archiveId);
    }
    await db.close();
    for (const f of [path.join(dataDir, 'archives', `${ids[1]}.bri`), path.join(nas, 'archives', `${ids[1]}.bri`)]) await fsp.truncate(f, 1500);
    const target = path.join(r, 'restored');
    const latest = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', target]);
    expect(latest.code, latest.stderr).toBe(21);
    expect(latest.stderr).toMatch(new RegExp(`ARCHIVE_CORRUPTED[\\s\\S]*${ids[1]}`));
    expect(fs.existsSync(target)).toBe(false);
    const older = await runCli(['restore', 'from', ids[0]!, '-d', dataDir, '-c', config, '--target', target]);
    expect(older.code, older.stderr).toBe(0);
  });
});
