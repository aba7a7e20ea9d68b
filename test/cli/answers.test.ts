/**
 * Answers that tell what is, through the CLI: a missing data directory is not
 * "no archives"; a failed afterRestore hook is a failure; one restore at a time
 * per target (the second is LOCKED before it touches the first one's build);
 * and the design note's commands work as it writes them.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { REPO_ROOT, tsNodeArgs } from '../support/child.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-answers-');

async function withArchives(n = 2): Promise<{ r: string; dataDir: string; ids: string[] }> {
  const r = await tmp();
  const dataDir = path.join(r, 'data');
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
  const ids: string[] = [];
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < 10; i++) await db.set(`R${k}_${i}`, { k, i });
    ids.push((await db.archive.create()).archiveId);
  }
  await db.close();
  return { r, dataDir, ids };
}

describe('answers that tell what is', () => {
  it('archive list, archive stats, restore list on a data directory that does not exist: NOT_A_DATA_DIR (exit 10), not "no archives"', async () => {
    const r = await tmp();
    const missing = path.join(r, 'nope');
    for (const args of [['archive', 'list'], ['archive', 'stats'], ['restore', 'list'], ['archive', 'list', '--json']]) {
      const res = await runCli([...args, '-d', missing]);
      expect(res.code, `${args.join(' ')}: ${res.stdout}`).toBe(10);
      expect(res.stdout).not.toMatch(/no archives/);
      expect(res.stderr).toMatch(/NOT_A_DATA_DIR[\s\S]*no data directory at/);
    }
    // An existing data directory with no archive yet holds none, truly.
    const fresh = path.join(r, 'fresh');
    const db = await createDB({ storeConfig: { dataDir: fresh } });
    await db.close();
    const ok = await runCli(['archive', 'list', '-d', fresh]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/no archives/);
  });

  it('an --archive-dir that does not exist (a typo, a disk not mounted) is ARCHIVE_NOT_FOUND (exit 20) for every command that reads archives, not "no archives" exit 0; create makes it, and a remote to look on instead is still read', async () => {
    const { r, dataDir } = await withArchives(1);
    const missing = path.join(r, 'bakcups');
    for (const args of [['archive', 'list'], ['archive', 'list', '--json'], ['archive', 'stats'], ['archive', 'verify', '--all'], ['archive', 'prune'], ['restore', 'list'], ['restore', 'latest', '--dry-run'], ['archive', 'history', 'R0_1'], ['restore', 'diff', '--at', '2020-01-01T00:00:00Z']]) {
      const res = await runCli([...args, '-d', dataDir, '-a', missing]);
      expect(res.code, `${args.join(' ')}: ${res.stdout}${res.stderr}`).toBe(20);
      expect(res.stderr).toMatch(/ARCHIVE_NOT_FOUND[\s\S]*--archive-dir .*bakcups does not exist/);
      expect(res.stdout).not.toMatch(/no archives/);
    }
    expect(fs.existsSync(missing)).toBe(false);
    // A fresh database's first archive goes into a directory not made yet.
    const fresh = path.join(r, 'fresh');
    const db = await createDB({ storeConfig: { dataDir: fresh } });
    await db.set('K', { v: 1 });
    await db.close();
    const created = await runCli(['archive', 'create', '-d', fresh, '-a', path.join(r, 'new-archives')]);
    expect(created.code, created.stderr).toBe(0);
    const listed = await runCli(['archive', 'list', '--json', '-d', fresh, '-a', path.join(r, 'new-archives')]);
    expect(JSON.parse(listed.stdout).archives).toHaveLength(1);
    // With a remote configured, the remote is where the archives may be: listed, not refused.
    const config = path.join(r, 'config.json');
    fs.mkdirSync(path.join(r, 'nas'));
    fs.writeFileSync(config, JSON.stringify({ remote: { provider: 'local', path: path.join(r, 'nas') } }));
    const viaRemote = await runCli(['archive', 'list', '-d', dataDir, '-a', missing, '-c', config]);
    expect(viaRemote.code, viaRemote.stderr).toBe(0);
  });

  it('archive stats with a remote and continuous shipping off: how far the remote\'s archives reach, not "shipped"', async () => {
    const { r, dataDir } = await withArchives(1);
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const config = path.join(r, 'archive.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const up = await runCli(['archive', 'upload', '-d', dataDir, '--config', config]);
    expect(up.code, up.stderr + up.stdout).toBe(0);
    const text = await runCli(['archive', 'stats', '-d', dataDir, '--config', config]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(/shipped/);
    expect(text.stdout).toMatch(/on remote +nas: archives through line 10 .*continuous shipping is off/);
    const json = JSON.parse((await runCli(['archive', 'stats', '-d', dataDir, '--config', config, '--json'])).stdout) as { shipping: Array<{ continuous: boolean; shipments: number; shippedThrough: number }> };
    expect(json.shipping).toEqual([expect.objectContaining({ source: 'nas', continuous: false, shipments: 0, shippedThrough: 10 })]);
  });

  it('archive create with nothing new still says what its retry of an earlier upload did: a failure is exit 41, a success is said (exit 0)', async () => {
    const { r, dataDir } = await withArchives(1);
    const nas = path.join(r, 'nas');
    const config = path.join(r, 'archive.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const failed = await runCli(['archive', 'create', '-d', dataDir, '--config', config]);
    expect(failed.code).toBe(41);
    expect(failed.stderr).toMatch(/upload of \S+ to nas FAILED/);
    expect(failed.stderr).toMatch(/nothing to archive: \S+ already holds everything/);
    await fsp.mkdir(nas);
    const retried = await runCli(['archive', 'create', '-d', dataDir, '--config', config]);
    expect(retried.code).toBe(0);
    expect(retried.stderr).toMatch(/uploaded nas: \S+/);
    expect(retried.stderr).toMatch(/nothing to archive: \S+ already holds everything/);
  });

  it('archive create into another archive directory than the database makes its archives in is refused (a second chain of the same instance); the right one, or a moved one, works', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const elsewhere = path.join(r, 'backups');
    const db = await createDB({ storeConfig: { dataDir, archive: { localDir: elsewhere, compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    await db.archive.create();
    await db.set('A', { v: 2 });
    await db.close();
    const wrong = await runCli(['archive', 'create', '-d', dataDir, '-a', path.join(dataDir, 'archives')]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/archives are made in \S*backups[\s\S]*second chain[\s\S]*hint: Give --archive-dir/);
    expect(fs.existsSync(path.join(dataDir, 'archives'))).toBe(false);
    const right = await runCli(['archive', 'create', '-d', dataDir, '-a', elsewhere]);
    expect(right.code, right.stderr).toBe(0);
    // Moved: the recorded place holds none of them any more.
    const moved = path.join(r, 'moved');
    await fsp.rename(elsewhere, moved);
    const db2 = await createDB({ storeConfig: { dataDir } });
    await db2.set('A', { v: 3 });
    await db2.close();
    const there = await runCli(['archive', 'create', '-d', dataDir, '-a', moved]);
    expect(there.code, there.stderr).toBe(0);
    // A copy of the directory elsewhere makes its archives where it is (the first is not held against it).
    const copy = path.join(r, 'copy');
    await fsp.cp(dataDir, copy, { recursive: true });
    const db3 = await createDB({ storeConfig: { dataDir: copy } });
    await db3.set('A', { v: 4 });
    await db3.close();
    const copied = await runCli(['archive', 'create', '-d', copy]);
    expect(copied.code, copied.stderr).toBe(0);
  });

  it('the CLI not told where archives are (no -a, no localDir) uses the archive directory bri-archive.json records: list, stats, restore to a time, history and create see the database\'s archives, not "no archives"', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const elsewhere = path.join(r, 'backups');
    const db = await createDB({ storeConfig: { dataDir, archive: { localDir: elsewhere, compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    const first = await db.archive.create();
    const at = new Date(first.manifest.timeRange.end).toISOString();
    await db.set('A', { v: 2 });
    await db.close();
    const list = await runCli(['archive', 'list', '-d', dataDir, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(list.stdout))).toContain(first.archiveId);
    const stats = await runCli(['archive', 'stats', '-d', dataDir, '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    expect((JSON.parse(stats.stdout) as { archives: number }).archives).toBe(1);
    const target = path.join(r, 'then');
    const restored = await runCli(['restore', 'to-timestamp', at, '-d', dataDir, '--target', target]);
    expect(restored.code, restored.stderr).toBe(0);
    const then = toPlainState((await recover(target)).state).documents;
    expect(Object.keys(then)).toEqual(['A']);
    expect(then.A).toMatch(/1/);
    expect(then.A).not.toMatch(/2/);
    const made = await runCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(made.code, made.stderr).toBe(0);
    expect(fs.readdirSync(elsewhere).filter((f) => f.endsWith('.bri'))).toHaveLength(2);
    expect(fs.existsSync(path.join(dataDir, 'archives'))).toBe(false);
    // A copy of the data directory elsewhere is not held to the recorded place: its own default.
    const copy = path.join(r, 'copy');
    await fsp.cp(dataDir, copy, { recursive: true });
    const copyList = await runCli(['archive', 'list', '-d', copy, '--json']);
    expect(copyList.code, copyList.stderr).toBe(0);
    expect(copyList.stdout).not.toContain(first.archiveId);
  });

  it('archive prune with no retention policy says so instead of "0 removed"', async () => {
    const { dataDir } = await withArchives(1);
    const res = await runCli(['archive', 'prune', '-d', dataDir]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/no retention policy is configured/);
    expect(JSON.parse((await runCli(['archive', 'prune', '-d', dataDir, '--json'])).stdout).policyConfigured).toBe(false);
  });

  it('a failing afterRestore hook: the directory is restored, the hook failure is said, exit 1', async () => {
    const { r, dataDir } = await withArchives(1);
    const config = path.join(r, 'hooks.json');
    await fsp.writeFile(config, JSON.stringify({ restoreHooks: { afterRestore: 'echo hook-said-no >&2; exit 3' } }));
    const target = path.join(r, 'out');
    const res = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', target]);
    expect(res.code).toBe(1);
    expect(res.stdout + res.stderr).toMatch(/afterRestore[\s\S]*hook-said-no/);
    expect(Object.keys(toPlainState((await recover(target)).state).documents)).toHaveLength(10);
    // --quiet silences the summary, never why it failed.
    const quiet = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', path.join(r, 'out2'), '--quiet']);
    expect(quiet.code).toBe(1);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toMatch(/hook failed: afterRestore[\s\S]*hook-said-no/);
  });

  it('an empty --target, --data-dir, --source, --instance, --prefix, --identity, --archive-dir, --config, --archive, --out or --new-instance-id (an unset shell variable) is USAGE, never a default, the data directory, the working directory, every source or every key', async () => {
    const { dataDir, ids } = await withArchives(1);
    const before = fs.readdirSync(dataDir).sort();
    for (const args of [['restore', 'latest', '-d', dataDir, '--target', '', '--force', '--clean-existing'], ['restore', 'latest', '-d', '', '--force'], ['restore', 'latest', '-d', dataDir, '-s', '', '--dry-run'], ['archive', 'list', '-d', dataDir, '-s', ''], ['archive', 'history', 'K', '-d', dataDir, '--instance', ''], ['restore', 'keys', '-d', dataDir, '--prefix', '', '--at', '2026-01-01T00:00:00Z'], ['restore', 'keys', 'K', '-d', dataDir, '--at', '2026-01-01T00:00:00Z', '-i', ''], ['archive', 'list', '-d', dataDir, '-a', ''], ['archive', 'list', '-d', dataDir, '-c', ''], ['restore', 'clone', '--archive', '', '--target', path.join(dataDir, '..', 'c'), '-d', dataDir], ['archive', 'repair', ids[0]!, '-d', dataDir, '--out', ''], ['restore', 'clone', '-d', dataDir, '--target', path.join(dataDir, '..', 'n'), '--new-instance-id', '']]) {
      const res = await runCli(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(/USAGE.*is empty/);
    }
    expect(fs.readdirSync(dataDir).sort()).toEqual(before);
  });

  it('--instance that no manifest could hold (a typo, a path) is USAGE naming the rule, not "no archive of instance"', async () => {
    const { dataDir } = await withArchives(1);
    for (const id of ['../x', 'Staging', 'a'.repeat(65)]) {
      const res = await runCli(['archive', 'history', 'K', '-d', dataDir, '--instance', id]);
      expect(res.code, id).toBe(2);
      expect(res.stderr).toMatch(/USAGE.*is not an instance id/);
    }
  });

  it('a key named --json after -- is a key: errors stay text (only the option switches the output to JSON)', async () => {
    const r = await tmp();
    const res = await runCli(['archive', 'history', '-d', path.join(r, 'none'), '--', '--json']);
    expect(res.code).toBe(10);
    expect(res.stderr).toMatch(/^error \[NOT_A_DATA_DIR\]/m);
    const asJson = await runCli(['archive', 'history', 'K', '-d', path.join(r, 'none'), '--json']);
    expect(JSON.parse(asJson.stdout || asJson.stderr).error.code).toBe('NOT_A_DATA_DIR');
  });

  it('a restore into a target another restore is building: LOCKED before anything of the first is touched, and the first finishes', async () => {
    const { r, dataDir } = await withArchives(1);
    const config = path.join(r, 'slow.json');
    const gate = path.join(r, 'gate');
    // The first restore waits in afterSnapshotRestore (its build directory exists) until the gate file appears.
    await fsp.writeFile(config, JSON.stringify({ restoreHooks: { afterWalSegmentRestore: `touch ${r}/building; while [ ! -f ${gate} ]; do sleep 0.05; done` } }));
    const target = path.join(r, 'target');
    const first = spawn(process.execPath, [...tsNodeArgs(), 'restore', 'latest', '-d', dataDir, '-c', config, '--target', target], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BRI_ENCRYPTION_KEY: '' } });
    let firstErr = '';
    first.stderr.on('data', (b) => (firstErr += b));
    const exited = new Promise<number | null>((res) => first.on('close', (code) => res(code)));
    const deadline = Date.now() + 30_000;
    while (!fs.existsSync(path.join(r, 'building'))) {
      if (Date.now() > deadline) throw new Error(`the first restore never reached its hook: ${firstErr}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    const building = fs.readdirSync(r).filter((n) => n.startsWith('target.restore-'));
    expect(building).toHaveLength(1);
    const second = await runCli(['restore', 'latest', '-d', dataDir, '--target', target, '--force']);
    expect(second.code, second.stderr).toBe(11);
    expect(second.stderr).toMatch(/LOCKED[\s\S]*restore target/);
    // The first one's build directory and journal are untouched.
    expect(fs.readdirSync(r).filter((n) => n.startsWith('target.restore-'))).toEqual(building);
    expect(fs.existsSync(path.join(r, '.target.restore.json'))).toBe(true);
    await fsp.writeFile(gate, '');
    expect(await exited, firstErr).toBe(0);
    expect(Object.keys(toPlainState((await recover(target)).state).documents)).toHaveLength(10);
    expect(fs.readdirSync(r).filter((n) => n.startsWith('.target.') || n.startsWith('target.restore-'))).toEqual([]);
  }, 60_000);
});

describe("the design note's commands, as written", () => {
  it('archive create --name, list, verify, download to ./backup.bri.zst, inspect and repair it, stats; restore list --after/--before (dates), info, from --verify, from --dry-run, clone <id> --target, verify, from --force', async () => {
    const { r, dataDir, ids } = await withArchives(2);
    const run = async (...args: string[]) => {
      const res = await runCli([...args, '-d', dataDir]);
      expect(res.code, `bri ${args.join(' ')}: ${res.stderr}`).toBe(0);
      expect(res.stderr).not.toMatch(/internal error|    at /);
      return res;
    };
    const cwd = r;
    const backup = path.join(cwd, 'backup.bri.zst');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('MIGRATION', { v: 1 });
    await db.close();
    const named = await run('archive', 'create', '--name', 'pre-migration', '--json');
    const preMigration = JSON.parse(named.stdout).archiveId as string;
    expect((await run('archive', 'list')).stdout).toContain('pre-migration');
    await run('archive', 'verify', ids[0]!);
    await run('archive', 'download', ids[0]!, backup);
    expect((await run('archive', 'inspect', backup)).stdout).toContain(ids[0]!);
    await run('archive', 'repair', backup);
    await run('archive', 'stats');
    await run('restore', 'list');
    const listed = await run('restore', 'list', '--after', '2024-01-01', '--before', '2099-02-01');
    expect(listed.stdout).toContain(ids[1]!);
    const none = await run('restore', 'list', '--after', '2024-01-01', '--before', '2024-02-01');
    expect(none.stdout).not.toContain(ids[1]!);
    await run('restore', 'info', ids[0]!);
    await run('restore', 'from', ids[0]!, '--verify', '--dry-run', '--force');
    await run('restore', 'clone', ids[0]!, '--target', path.join(cwd, 'data-clone'));
    expect(Object.keys(toPlainState((await recover(path.join(cwd, 'data-clone'))).state).documents)).toHaveLength(10);
    await run('restore', 'verify', ids[0]!);
    // Its lines are still in wal/: deleting it needs no --force.
    await run('archive', 'delete', preMigration);
    await run('restore', 'from', ids[1]!, '--force');
  }, 120_000);
});
