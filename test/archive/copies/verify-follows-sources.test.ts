/**
 * `archive verify <id>` and `--all` go on past a failed copy to the next sources' copies, in restore order,
 * as a restore does: an archive whose later source holds a whole copy is not "beyond repair, lost" (21) but a
 * bad copy (24), and the answer names the whole copy and how to replace the bad ones from it.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-verify-follows-');

/** Flips every byte from 3000 on: members and PAR2 data alike, beyond repair. */
async function rotBeyondRepair(file: string): Promise<void> {
  const bytes = await fsp.readFile(file);
  for (let i = 3000; i < bytes.length; i++) bytes[i]! ^= 0x5a;
  await fsp.writeFile(file, bytes);
}

/** Two archives on local + nas + nas2 (restore order). */
async function threeSources(): Promise<{ args: string[]; id: string; copy: (source: 'local' | 'nas' | 'nas2') => string }> {
  const root = await tempDir();
  const dataDir = path.join(root, 'data');
  const remotes = (['nas', 'nas2'] as const).map((name) => ({ provider: 'local' as const, name, path: path.join(root, name) }));
  for (const r of remotes) await fsp.mkdir(r.path);
  const config = path.join(root, 'config.json');
  await fsp.writeFile(config, JSON.stringify({ remotes, restoreSources: ['local', 'nas', 'nas2'] }));
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { compression: { level: 1 }, remotes, restoreSources: ['local', 'nas', 'nas2'] } } });
  const ids: string[] = [];
  try {
    for (let a = 0; a < 2; a++) {
      for (let i = 0; i < 40; i++) await db.set(`K${a}_${i}`, { a, i, pad: 'x'.repeat(200 + i) });
      ids.push((await db.archive.create()).archiveId);
    }
  } finally {
    await db.close();
  }
  const id = ids[0]!;
  const copy = (s: 'local' | 'nas' | 'nas2') => (s === 'local' ? path.join(dataDir, 'archives', `${id}.bri`) : path.join(root, s, 'archives', `${id}.bri`));
  return { args: ['-d', dataDir, '-c', config], id, copy };
}

describe('verify follows a failed copy to the next sources', () => {
  it('local and nas beyond repair, nas2 whole: verify <id> and --all exit 24, name nas2 and how to replace the bad copies', async () => {
    const s = await threeSources();
    await rotBeyondRepair(s.copy('local'));
    await rotBeyondRepair(s.copy('nas'));
    const one = await runCli(['archive', 'verify', s.id, ...s.args]);
    expect(one.code, one.stdout + one.stderr).toBe(24);
    expect(one.stdout).toMatch(new RegExp(`OK ${s.id} on nas2`));
    expect(one.stderr).toMatch(/whole on nas2/);
    expect(one.stderr).toMatch(/copies \(local, nas\) from it/);
    expect(one.stderr).toContain(`bri archive download ${s.id}`);
    const all = await runCli(['archive', 'verify', '--all', '--json', ...s.args]);
    expect(all.code, all.stderr).toBe(24);
    const r = JSON.parse(all.stdout) as { archives: Array<{ archiveId: string; source: string; ok: boolean; wholeOn?: string }> };
    expect(r.archives.filter((v) => v.archiveId === s.id).map((v) => [v.source, v.ok, v.wholeOn])).toEqual([
      ['local', false, 'nas2'],
      ['nas', false, 'nas2'],
      ['nas2', true, undefined],
    ]);
  }, 60_000);

  it('no local copy (as keepLocal leaves it), nas beyond repair, nas2 whole: verify <id> and --all exit 24', async () => {
    const s = await threeSources();
    await fsp.rm(s.copy('local'));
    await rotBeyondRepair(s.copy('nas'));
    const one = await runCli(['archive', 'verify', s.id, '--json', ...s.args]);
    expect(one.code, one.stderr).toBe(24);
    const report = JSON.parse(one.stdout) as { ok: boolean; source: string; wholeOn: string };
    expect([report.ok, report.source, report.wholeOn]).toEqual([false, 'nas', 'nas2']);
    const all = await runCli(['archive', 'verify', '--all', ...s.args]);
    expect(all.code, all.stderr).toBe(24);
    expect(all.stderr).toMatch(new RegExp(`archive ${s.id} is whole on nas2`));
  }, 60_000);

  it('every copy beyond repair: still 21, and nothing is said to be whole', async () => {
    const s = await threeSources();
    for (const c of ['local', 'nas', 'nas2'] as const) await rotBeyondRepair(s.copy(c));
    const one = await runCli(['archive', 'verify', s.id, ...s.args]);
    expect(one.code, one.stderr).toBe(21);
    expect(one.stderr).not.toMatch(/is whole on/);
    const all = await runCli(['archive', 'verify', '--all', ...s.args]);
    expect(all.code, all.stderr).toBe(21);
  }, 60_000);
});
