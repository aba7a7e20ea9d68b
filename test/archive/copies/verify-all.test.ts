/**
 * `verifyAll` / `bri archive verify --all`: every archive checked, one after the other, as a
 * scheduled integrity check would run it. A damaged archive (even one whose manifest no longer
 * reads, so that no listing shows it by id) is a failed entry with what is wrong and whether repair
 * mends it, never a throw that hides the others; the exit code says the worst of them.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { EXIT_OK, EXIT_REPAIRABLE, EXIT_USAGE, exitCodeFor } from '../../../src/cli/exit-codes.js';
import { ErrorCodes } from '../../../src/errors.js';
import { makeTempDir } from '../../support/fixtures.js';
import { runCli } from '../../support/cli.js';

/** Three archives of one database, with a `local` remote holding a copy of each. */
async function threeArchives(): Promise<{ dataDir: string; nas: string; ids: string[]; files: string[] }> {
  const root = await makeTempDir();
  const dataDir = path.join(root, 'data');
  const nas = path.join(root, 'nas');
  await fsp.mkdir(nas); // a local remote is a mount that must exist (it is never created)
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
  const ids: string[] = [];
  const files: string[] = [];
  for (let a = 0; a < 3; a++) {
    for (let i = 0; i < 40; i++) await db.set(`K${a}_${i}`, { a, i, pad: 'x'.repeat(100) });
    const r = await db.archive.create();
    ids.push(r.archiveId);
    files.push(r.file);
  }
  await db.close();
  return { dataDir, nas, ids, files };
}

async function damage(file: string, at: number, n = 8): Promise<void> {
  const fh = await fsp.open(file, 'r+');
  try {
    await fh.write(Buffer.alloc(n, 0x58), 0, n, at);
  } finally {
    await fh.close();
  }
}

describe('verify every archive', () => {
  it('reports each archive, a damaged one (its manifest too) as failed and repairable, without hiding the others', async () => {
    const { dataDir, ids, files } = await threeArchives();
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      const whole = await db.archive.verifyAll();
      expect(whole.ok).toBe(true);
      expect(whole.archives.map((v) => [v.archiveId, v.source, v.ok])).toEqual(ids.map((id) => [id, 'local', true]));

      await damage(files[1]!, (await fsp.stat(files[1]!)).size / 2); // inside the data, PAR2 mends it
      await damage(files[2]!, 600); // the manifest: no listing shows this archive by id any more
      const told: string[] = [];
      const r = await db.archive.verifyAll({ onVerified: (v) => told.push(`${v.archiveId}:${v.ok}`) });
      expect(r.ok).toBe(false);
      expect(told.sort()).toEqual([`${ids[0]}:true`, `${ids[1]}:false`, `${ids[2]}:false`].sort());
      for (const id of [ids[1], ids[2]]) {
        const v = r.archives.find((x) => x.archiveId === id)!;
        expect(v.report, id).not.toBeNull();
        expect(v.report!.repairable).toBe(true);
        expect(v.report!.problems.join('\n')).toMatch(/PAR2: \d+ of \d+ blocks damaged/);
      }
    } finally {
      await db.close();
    }
  });

  it('with --source, the copies there; through the CLI, a line per archive and the worst exit code', async () => {
    const { dataDir, nas, ids, files } = await threeArchives();
    const ok = await runCli(['archive', 'verify', '--all', '-d', dataDir]);
    expect(ok.code, ok.stderr).toBe(EXIT_OK);
    for (const id of ids) expect(ok.stdout).toContain(`OK      ${id} (local)`);
    expect(ok.stdout).toContain('3 archives verified: 3 whole, 0 failed');

    // The remote's copies are not the local files: damage there is found by asking for them.
    const remoteCopy = (await fsp.readdir(nas, { recursive: true })).map(String).find((f) => f.endsWith(`${ids[0]}.bri`))!;
    await damage(path.join(nas, remoteCopy), 3000);
    expect((await runCli(['archive', 'verify', '--all', '-d', dataDir])).code).toBe(EXIT_OK);
    const config = path.join(path.dirname(dataDir), 'archive.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const onNas = await runCli(['archive', 'verify', '--all', '--source', 'nas', '-d', dataDir, '-c', config, '--json']);
    expect(onNas.code, onNas.stdout + onNas.stderr).toBe(EXIT_REPAIRABLE);
    const j = JSON.parse(onNas.stdout) as { ok: boolean; archives: Array<{ archiveId: string; source: string; ok: boolean }> };
    expect(j.ok).toBe(false);
    expect(j.archives.map((v) => [v.archiveId, v.source, v.ok])).toEqual([
      [ids[0], 'nas', false],
      [ids[1], 'nas', true],
      [ids[2], 'nas', true],
    ]);

    // A repairable archive and one beyond repair: the exit code is the one beyond repair's.
    await damage(files[0]!, (await fsp.stat(files[0]!)).size / 2);
    await fsp.truncate(files[1]!, 1500);
    const bad = await runCli(['archive', 'verify', '--all', '-d', dataDir]);
    expect(bad.code).not.toBe(EXIT_REPAIRABLE);
    expect(bad.code).not.toBe(EXIT_OK);
    expect([exitCodeFor(ErrorCodes.ARCHIVE_CORRUPTED), exitCodeFor(ErrorCodes.ARCHIVE_INVALID)]).toContain(bad.code);
    expect(bad.stderr).toMatch(/FAILED {2}/);
    expect(bad.stderr).toContain('3 archives verified: 1 whole, 2 failed');
  });

  it('an id or --all, not both and not neither', async () => {
    const { dataDir, ids } = await threeArchives();
    expect((await runCli(['archive', 'verify', '-d', dataDir])).code).toBe(EXIT_USAGE);
    expect((await runCli(['archive', 'verify', ids[0]!, '--all', '-d', dataDir])).code).toBe(EXIT_USAGE);
  });

  it('entries named like archives that are not one (a link to nothing, a directory, a copy under another name) fail as what they are, never count as whole, and stop nothing else', async () => {
    const { dataDir, ids, files } = await threeArchives();
    const dir = path.dirname(files[0]!);
    const ghost = '20261205T000000001Z-00000000';
    const folder = '20261205T000000002Z-00000000';
    const copy = '20261205T000000003Z-00000000';
    await fsp.symlink('/nonexistent/archive.bri', path.join(dir, `${ghost}.bri`));
    await fsp.mkdir(path.join(dir, `${folder}.bri`));
    await fsp.copyFile(files[1]!, path.join(dir, `${copy}.bri`));
    const all = await runCli(['archive', 'verify', '--all', '--json', '-d', dataDir]);
    const report = JSON.parse(all.stdout) as { ok: boolean; archives: Array<{ archiveId: string | null; ok: boolean; file: string | null; error: { code: string; message: string } | null }> };
    expect(report.ok).toBe(false);
    // The three archives once each, whole; each odd entry once, failed, with what it is.
    expect(report.archives.filter((v) => v.ok).map((v) => v.archiveId).sort()).toEqual([...ids].sort());
    const failed = report.archives.filter((v) => !v.ok);
    expect(failed).toHaveLength(3);
    const why = (name: string) => failed.find((v) => v.file?.endsWith(`${name}.bri`))?.error?.message;
    expect(why(ghost)).toMatch(/is a link to nothing/);
    expect(why(folder)).toMatch(/is not a file/);
    expect(why(copy)).toMatch(new RegExp(`holds archive ${ids[1]}`));
    // The rest works: listing, a new archive, a restore.
    const list = await runCli(['archive', 'list', '--json', '-d', dataDir]);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { archives: unknown[]; unreadable: unknown[] }).archives).toHaveLength(3);
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('AFTER', { ok: true });
    await db.close();
    const made = await runCli(['archive', 'create', '-q', '-d', dataDir]);
    expect(made.code, made.stderr).toBe(0);
    const restored = await runCli(['restore', 'latest', '-q', '-d', dataDir, '--target', path.join(path.dirname(dataDir), 'out')]);
    expect(restored.code, restored.stderr).toBe(0);
  }, 60_000);

  it('bri archive repair <id> with no --out writes repaired/<id>.bri beside it: listing, stats and verify --all still see one archive per id, and the repaired copy verifies', async () => {
    const { dataDir, ids, files } = await threeArchives();
    await damage(files[0]!, 4200, 1);
    const repaired = await runCli(['archive', 'repair', ids[0]!, '-d', dataDir]);
    expect(repaired.code, repaired.stderr).toBe(0);
    const out = path.join(path.dirname(files[0]!), 'repaired', `${ids[0]}.bri`);
    expect(repaired.stdout).toContain(out);
    const stats = await runCli(['archive', 'stats', '--json', '-d', dataDir]);
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ archives: 3, unreadable: [] });
    const all = await runCli(['archive', 'verify', '--all', '--json', '-d', dataDir]);
    const report = JSON.parse(all.stdout) as { archives: Array<{ archiveId: string }> };
    expect(report.archives.map((v) => v.archiveId).sort()).toEqual([...ids].sort());
    const fixed = await runCli(['archive', 'verify', out, '-d', dataDir]);
    expect(fixed.code, fixed.stderr).toBe(EXIT_OK);
  }, 60_000);

  it('a local copy beyond repair is not the archive\'s last word: the remote\'s copy is verified too, and reported whole', async () => {
    const { dataDir, nas, ids, files } = await threeArchives();
    // Damage past any redundancy: most of the file.
    const size = (await fsp.stat(files[2]!)).size;
    await damage(files[2]!, 512, size - 1024);
    const db = await createDB({ storeConfig: { dataDir, archive: { remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    try {
      const r = await db.archive.verifyAll();
      expect(r.ok).toBe(false);
      const of = r.archives.filter((v) => v.archiveId === ids[2]);
      expect(of.map((v) => [v.source, v.ok])).toEqual([
        ['local', false],
        ['nas', true],
      ]);
      // The others once each, from their first source.
      expect(r.archives.filter((v) => v.archiveId !== ids[2]).map((v) => [v.archiveId, v.source, v.ok])).toEqual([
        [ids[0], 'local', true],
        [ids[1], 'local', true],
      ]);
    } finally {
      await db.close();
    }
    // In words, archives are counted as archives and copies as copies.
    const config = path.join(path.dirname(dataDir), 'c.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const cli = await runCli(['archive', 'verify', '--all', '-d', dataDir, '-c', config]);
    expect(cli.stdout + cli.stderr).toContain('3 archives verified (4 copies): 3 whole, 1 failed');
  }, 60_000);

  it('bri archive verify <id> of a file that holds another (whole) archive fails, naming what it holds', async () => {
    const { dataDir, ids, files } = await threeArchives();
    await fsp.copyFile(files[0]!, files[2]!);
    const res = await runCli(['archive', 'verify', ids[2]!, '--json', '-d', dataDir]);
    expect(res.code, res.stderr).not.toBe(EXIT_OK);
    const report = JSON.parse(res.stdout) as { ok: boolean; problems: string[] };
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toContain(`holds archive ${ids[0]}, not ${ids[2]}`);
  }, 60_000);
});
