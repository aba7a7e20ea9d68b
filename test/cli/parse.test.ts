/**
 * Every input of the `bri` CLI is parsed strictly (issue 13, item 7), seen as a user sees it:
 * a bad time, retention, count or choice is USAGE (exit 2) with the accepted forms, never a
 * stack trace; a date alone is midnight UTC; a non-regular file is refused at once.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, fixturesPresent } from '../support/fixtures.js';
import { REPO_ROOT, tsNodeArgs } from '../support/child.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const children = new Set<number>();

/** The CLI in a child process, killed (the one child this started) if it runs past `timeoutMs`. */
function bri(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...tsNodeArgs(), ...args], { cwd: REPO_ROOT, env: { ...process.env, BRI_ENCRYPTION_KEY: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child.pid!);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child.pid!);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** At most two at a time (two cores, shared). */
async function all(runs: Array<() => Promise<Run>>): Promise<Run[]> {
  const out: Run[] = new Array(runs.length);
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < runs.length) {
        const i = next++;
        out[i] = await runs[i]!();
      }
    }),
  );
  return out;
}

function expectUsage(r: Run, what: string, hint: RegExp): void {
  expect(r.code, `${what}: ${r.stderr}`).toBe(2);
  expect(r.stderr, what).toMatch(/^error \[USAGE\]: /);
  expect(r.stderr, what).toMatch(hint);
  expect(r.stderr, what).not.toMatch(/RangeError|internal error|\n\s+at /);
}

const TIME_HINT = /hint: .*ISO 8601 with a zone.*a date \(2026-11-24: midnight UTC\).*milliseconds since the epoch/;
const RETENTION_HINT = /hint: .*'permanent', a number of days of at least 1 \(30d\), or a date after now/;

let root: string;
let dataDir: string;
let manifest: { archiveId: string; timeRange: { start: string; sealedAt: string } };

beforeAll(async () => {
  if (!fixturesPresent()) return;
  dataDir = await copyFixture('crashed');
  root = path.dirname(dataDir);
  const created = await bri(['archive', 'create', '-d', dataDir, '--level', '1', '--json']);
  expect(created.code, created.stderr).toBe(0);
  manifest = JSON.parse(created.stdout).manifest;
});

afterAll(async () => {
  for (const pid of children) process.kill(pid, 'SIGKILL');
  if (root) await fsp.rm(root, { recursive: true, force: true });
});

describe.skipIf(!fixturesPresent())('bri: every input is parsed strictly', () => {
  it('impossible times and epochs past the Date range are USAGE with the accepted forms, in every time option', async () => {
    const cases: Array<[string, string[]]> = [
      ['month 13', ['restore', 'to-timestamp', '2026-13-45T10:00:00Z']],
      ['hour 99', ['restore', 'to-timestamp', '2026-01-01T99:99Z']],
      ['a 20-digit epoch', ['restore', 'to-timestamp', '99999999999999999999']],
      ['February 30', ['restore', 'to-timestamp', '2026-02-30T10:00:00Z']],
      ['hour 24 in --at', ['restore', 'clone', '--target', path.join(root, 'never'), '--at', '2026-03-01T24:00:00Z']],
      ['April 31 in --after', ['restore', 'list', '--after', '2026-04-31']],
      ['minute 60 in --before', ['restore', 'list', '--before', '2026-01-01T10:60:00+01:00']],
      ['no zone in --before', ['restore', 'list', '--before', '2026-01-01T10:00:00']],
    ];
    const runs = await all(cases.map(([, args]) => () => bri([...args, '-d', dataDir])));
    cases.forEach(([what], i) => expectUsage(runs[i]!, what, TIME_HINT));
    await expect(fsp.access(path.join(root, 'never'))).rejects.toThrow();
  });

  it('a date alone is midnight UTC for restore list --after/--before, to-timestamp and --retention, whatever the local zone', async () => {
    const env = { TZ: 'Pacific/Kiritimati' }; // UTC+14: a local reading would be 14 hours off
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const start = new Date(manifest.timeRange.start).getTime();
    const sealed = new Date(manifest.timeRange.sealedAt).getTime();
    const [inside, before, after, pitr, created] = await all([
      () => bri(['restore', 'list', '-d', dataDir, '--after', day(start), '--before', day(sealed + 86_400_000), '--json'], env),
      () => bri(['restore', 'list', '-d', dataDir, '--before', day(start - 86_400_000), '--json'], env),
      () => bri(['restore', 'list', '-d', dataDir, '--after', day(sealed + 86_400_000), '--json'], env),
      () => bri(['restore', 'to-timestamp', '2001-02-03', '-d', dataDir, '--dry-run'], env),
      async () => {
        const d2 = await copyFixture('small');
        const r = await bri(['archive', 'create', '-d', d2, '--level', '1', '--retention', '2099-03-04', '--json'], env);
        await fsp.rm(path.dirname(d2), { recursive: true, force: true });
        return r;
      },
    ]);
    expect(inside!.code, inside!.stderr).toBe(0);
    expect(JSON.parse(inside!.stdout).archives.map((a: { manifest: { archiveId: string } }) => a.manifest.archiveId)).toEqual([manifest.archiveId]);
    expect(JSON.parse(before!.stdout).archives).toEqual([]);
    expect(JSON.parse(after!.stdout).archives).toEqual([]);
    // No archive holds that day: the error names the instant the date was read as.
    expect(pitr!.stderr).toContain('no archive holds 2001-02-03T00:00:00.000Z');
    expect(created!.code, created!.stderr).toBe(0);
    expect(JSON.parse(created!.stdout).manifest.retentionUntil).toBe('2099-03-04T00:00:00.000Z');
  });

  it('--after later than --before is USAGE', async () => {
    const r = await bri(['restore', 'list', '-d', dataDir, '--after', '2025-01-02', '--before', '2025-01-01T23:59:59Z']);
    expectUsage(r, 'after > before', /--after .* is later than --before/);
  });

  it("--retention 0d, a count past the year 9999, a past date, a bare number or a word is USAGE, and no archive is made", async () => {
    const d = await copyFixture('small');
    const cases = ['0d', '99999999999d', '2020-01-01', '30', 'forever', '2027-02-29'];
    const runs = await all(cases.map((v) => () => bri(['archive', 'create', '-d', d, '--level', '1', '--retention', v])));
    cases.forEach((v, i) => expectUsage(runs[i]!, `--retention ${v}`, RETENTION_HINT));
    const archives = await fsp.readdir(path.join(d, 'archives')).catch(() => []);
    expect(archives.filter((f) => f.endsWith('.bri'))).toEqual([]);
    await fsp.rm(path.dirname(d), { recursive: true, force: true });
  });

  it('choices and counts take only their accepted values (--on-broken-shipment, --level, thaw --days and --tier)', async () => {
    const target = path.join(root, 'never-restored');
    const cases: Array<[string[], RegExp]> = [
      [['restore', 'latest', '--target', target, '--on-broken-shipment', 'maybe'], /hint: Give --on-broken-shipment as one of: stop, fail\./],
      [['restore', 'clone', '--target', target, '--on-broken-shipment', 'FAIL'], /hint: Give --on-broken-shipment as one of: stop, fail\./],
      [['archive', 'create', '--level', '0'], /hint: Give --level as a whole number from 1 to 22/],
      [['archive', 'create', '--level', '3.5'], /hint: Give --level as a whole number from 1 to 22/],
      [['archive', 'thaw', 'x', '--days', '0'], /hint: Give --days as a whole number of days/],
      [['archive', 'thaw', 'x', '--days', '99999999999999999999'], /hint: Give --days as a whole number of days/],
      [['archive', 'thaw', 'x', '--tier', 'fast'], /hint: Give --tier as one of: expedited, standard, bulk\./],
    ];
    const runs = await all(cases.map(([args]) => () => bri([...args, '-d', dataDir])));
    cases.forEach(([args, hint], i) => expectUsage(runs[i]!, args.join(' '), hint));
    await expect(fsp.access(target)).rejects.toThrow();
  });

  it('/dev/zero, a FIFO or a directory as an archive file or --config is refused at once', async () => {
    const fifo = path.join(root, 'archive.fifo');
    execFileSync('mkfifo', [fifo]);
    const dir = path.join(root, 'a-directory.bri');
    await fsp.mkdir(dir);
    const cases: string[][] = [];
    for (const f of ['/dev/zero', fifo, dir]) {
      cases.push(['archive', 'inspect', f], ['archive', 'verify', f, '-d', dataDir], ['archive', 'repair', f, '-d', dataDir], ['archive', 'list', '-d', dataDir, '--config', f]);
    }
    const runs = await all(cases.map((args) => () => bri(args, {}, 15_000)));
    cases.forEach((args, i) => {
      expectUsage(runs[i]!, args.join(' '), /hint: Give the path of a regular file/);
      expect(runs[i]!.stderr).toMatch(/is (a character device|a FIFO \(named pipe\)|a directory), not a regular file/);
    });
  });

  it('a file or a device given where a directory goes (--archive-dir, --target) is refused at once, not an internal error', async () => {
    const file = path.join(root, 'plain-file');
    await fsp.writeFile(file, 'not a directory');
    const cases: string[][] = [
      ['archive', 'list', '-a', '/dev/zero'],
      ['archive', 'stats', '-a', file],
      ['restore', 'list', '-a', file],
      ['restore', 'latest', '--target', '/dev/zero'],
      ['restore', 'clone', '--target', file],
    ];
    const runs = await all(cases.map((args) => () => bri([...args, '-d', dataDir], {}, 15_000)));
    cases.forEach((args, i) => {
      expectUsage(runs[i]!, args.join(' '), /hint: Give (--archive-dir|--target) as a directory/);
      expect(runs[i]!.stderr).toMatch(/is (a character device|a file), not a directory/);
    });
    expect(await fsp.readFile(file, 'utf8')).toBe('not a directory');
  });
});
