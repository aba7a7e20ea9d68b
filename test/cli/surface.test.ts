/**
 * The command line answers what happened (found by driving every command as a script would): a
 * directory that is no data directory is not one with "no archives"; a config file names the same
 * local remote from any working directory; a removal the file system refuses is said as refused; no
 * command at all is a usage error, not a success.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-surface-');

/** Whether files can be made immutable here (root on a file system with chattr +i). */
function canImmutable(dir: string): boolean {
  const f = path.join(dir, '.probe');
  try {
    fs.writeFileSync(f, 'x');
    execFileSync('chattr', ['+i', f], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', f], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(f, { force: true });
  }
}

const IMMUTABLE = process.getuid?.() === 0 && canImmutable(fs.mkdtempSync(path.join(os.tmpdir(), 'bri-chattr-')));

describe('the command line says what is', () => {
  it('list, stats, verify --all and restore list on a directory that is no data directory: NOT_A_DATA_DIR (exit 10), not "no archives"', async () => {
    const dir = path.join(await tmp(), 'docs');
    await fsp.mkdir(dir);
    await fsp.writeFile(path.join(dir, 'notes.txt'), 'mine');
    for (const args of [['archive', 'list'], ['archive', 'stats'], ['archive', 'verify', '--all'], ['restore', 'list']]) {
      const r = await runCli([...args, '-d', dir]);
      expect(r.code, args.join(' ')).toBe(10);
      expect(r.stderr).toMatch(/NOT_A_DATA_DIR.*holds other files \(notes\.txt\)/);
    }
  });

  it("a config file's relative local remote path is relative to the file, from any working directory", async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('K', { v: 1 });
    await db.close();
    await fsp.mkdir(path.join(r, 'conf', 'nas'), { recursive: true });
    const config = path.join(r, 'conf', 'bri.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: 'nas' }] }));
    const made = await runCli(['archive', 'create', '-d', dataDir, '-c', config], {}, { nodeArgs: [] });
    expect(made.code, made.stderr).toBe(0);
    expect(fs.readdirSync(path.join(r, 'conf', 'nas', 'archives')).filter((n) => n.endsWith('.bri'))).toHaveLength(1);
  });

  // Needs root and a file system that keeps chattr +i (skipped, and said so in the count, elsewhere).
  it.skipIf(!IMMUTABLE)('a removal the file system refuses (an immutable file) is said as refused, with its errno, on the archive directory and on a local remote', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local', name: 'nas', path: nas }];
    const db = await createDB({ storeConfig: { dataDir, archive: { remotes } } });
    await db.set('K', { v: 1 });
    const made = await db.archive.create();
    await db.close();
    const config = path.join(r, 'cfg.json');
    await fsp.writeFile(config, JSON.stringify({ remotes }));
    const onNas = path.join(nas, 'archives', path.basename(made.file));
    for (const [source, file] of [['nas', onNas], ['local', made.file]] as const) {
      execFileSync('chattr', ['+i', file]);
      try {
        const res = await runCli(['archive', 'delete', made.archiveId, '-s', source, '--force', '-d', dataDir, '-c', config]);
        expect(res.code, `${source}: ${res.stderr}`).not.toBe(0);
        expect(res.stderr).toMatch(/EPERM/);
        expect(res.stderr).not.toMatch(/ENOTDIR/);
        expect(fs.existsSync(file)).toBe(true);
      } finally {
        execFileSync('chattr', ['-i', file]);
      }
    }
  });

  it('bri, bri archive and bri restore without a command: the help, and exit 2 (an empty $CMD in a script is not a success); --help and bri help [command] are exit 0', async () => {
    for (const args of [[], ['archive'], ['restore']]) expect((await runCli(args)).code, args.join(' ')).toBe(2);
    expect((await runCli(['--help'])).code).toBe(0);
    expect((await runCli(['archive', '--help'])).code).toBe(0);
    for (const args of [['help'], ['help', 'archive'], ['archive', 'help'], ['archive', 'help', 'list']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout + r.stderr).toMatch(/Usage: bri/);
    }
  });

  it('bri help <group> <command> shows that command\'s help (it showed the group\'s); a word naming no command is USAGE, exit 2 (it was the top-level help, exit 0)', async () => {
    const create = await runCli(['help', 'archive', 'create']);
    expect(create.code).toBe(0);
    expect(create.stdout).toMatch(/^Usage: bri archive create/m);
    const clone = await runCli(['help', 'restore', 'clone']);
    expect(clone.stdout).toMatch(/--target <dir> +directory for the copy \(required\)/);
    for (const [args, named] of [[['help', 'nosuch'], 'nosuch'], [['help', 'archive', 'nosuch'], 'archive nosuch']] as const) {
      const r = await runCli([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`unknown command '${named}'`);
    }
    const both = await runCli(['archive', 'verify', '20261206T000000000Z-0000abcd', '--all']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/not both/);
  });

  it('under --json, a usage error commander finds (an unknown option, a missing argument) is one JSON document on stderr, as our own errors are', async () => {
    for (const args of [['archive', 'list', '--bogus', '--json'], ['archive', 'get', '--json'], ['restore', 'to-timestamp', '--json']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const parsed = JSON.parse(r.stderr.trim()) as { error: { code: string; message: string } };
      expect(parsed.error.code).toBe('USAGE');
      expect(parsed.error.message).toMatch(/unknown option|missing required argument/);
    }
  });
});
