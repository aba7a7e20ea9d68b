/**
 * A source the listing already knows has no copy (keepLocal removed the local one) is not "passed
 * over": nothing was tried there, so a restore says nothing of it. Only an answer with no good copy
 * names it among the sources.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-absent-copy-');

describe('a copy the listing knows is absent', () => {
  it('is not said as passed over by a restore from the remote that holds it', async () => {
    const r = await root();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { keepLocal: 1, remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], compression: { level: 1 } };
    const config = path.join(r, 'archive.json');
    await fsp.writeFile(config, JSON.stringify(archive));
    const db = await createDB({ storeConfig: { dataDir, archive } });
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      await db.set(`K${round}`, { round });
      ids.push((await db.archive.create()).archiveId);
    }
    await db.close();
    await expect(fsp.access(path.join(dataDir, 'archives', `${ids[0]}.bri`))).rejects.toThrow();
    const restored = await runCli(['restore', 'from', ids[0]!, '-d', dataDir, '-c', config, '--target', path.join(r, 'restored')]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr + restored.stdout).not.toMatch(/local: has no copy|passed over/);
  });

  it('is not said by time travel either, when another source\'s copy failed and a later one answered', async () => {
    const r = await root();
    const dataDir = path.join(r, 'data');
    const [nas, nas2] = [path.join(r, 'nas'), path.join(r, 'nas2')];
    await fsp.mkdir(nas);
    await fsp.mkdir(nas2);
    const archive = { keepLocal: 1, errorCorrection: { enabled: false }, remotes: [{ provider: 'local' as const, name: 'nas', path: nas }, { provider: 'local' as const, name: 'nas2', path: nas2 }], compression: { level: 1 } };
    const config = path.join(r, 'archive.json');
    await fsp.writeFile(config, JSON.stringify(archive));
    const db = await createDB({ storeConfig: { dataDir, archive } });
    await db.set('K', { v: 1 });
    const first = await db.archive.create();
    for (let round = 0; round < 2; round++) {
      await db.set(`L${round}`, { round });
      await db.archive.create();
    }
    await db.close();
    await expect(fsp.access(path.join(dataDir, 'archives', `${first.archiveId}.bri`))).rejects.toThrow();
    // nas's copy of the first archive is damaged beyond repair (no recovery data): nas2's answers.
    const names = (await fsp.readdir(nas, { recursive: true })).map(String).filter((n) => n.endsWith(`${first.archiveId}.bri`));
    const damaged = path.join(nas, names[0]!);
    const bytes = await fsp.readFile(damaged);
    // Inside the WAL member's data (past its 512-byte tar header).
    let header = bytes.indexOf('wal/000000.wal.zst');
    while (header % 512 !== 0) header = bytes.indexOf('wal/000000.wal.zst', header + 1);
    const member = header + 512 + 8;
    bytes[member] = bytes[member]! ^ 0xff;
    await fsp.writeFile(damaged, bytes);
    const shown = await runCli(['archive', 'history', 'K', '-d', dataDir, '-c', config, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('"SET"');
    expect(shown.stderr).toMatch(/nas/);
    expect(shown.stderr).not.toMatch(/local: has no copy|"source":"local"/);
  });
});
