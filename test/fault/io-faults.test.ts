/**
 * Failures are errors, never crashes, and leave nothing behind. Every
 * operation runs in a child process under --unhandled-rejections=strict with
 * an injected I/O failure (test/support/io-faults.ts: a full disk after N
 * bytes, a permission refused, a folder missing, a directory where a file was
 * expected, a failed fsync or rename) under the directory it writes to. Each
 * run must end with a typed error and a hint (never a crash, a stack trace or
 * an unhandled rejection), leave the directories it writes to as they were,
 * and the same command without the fault must then succeed. An application
 * whose db.archive.create() hits a full disk catches the error and goes on.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { REPO_ROOT } from '../support/child.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-io-');
const PRELOAD = path.join(REPO_ROOT, 'test/support/io-faults.ts');

interface Fault {
  code: 'ENOSPC' | 'EACCES' | 'ENOENT' | 'EISDIR' | 'EIO' | 'EROFS';
  op: 'write' | 'open' | 'mkdir' | 'rename' | 'fsync';
  under: string;
  after: number;
}

function run(args: string[], fault: Fault | null, script?: string) {
  // The preload comes after tsx: the fault wraps node:fs before the program under test loads.
  return runCli(args, { BRI_IO_FAULT: fault ? JSON.stringify(fault) : '' }, { nodeArgs: ['--unhandled-rejections=strict'], ...(script ? { script } : {}), preload: PRELOAD });
}

/** Every file and directory below `dir` (relative), with sizes: what a failed run must leave as it was. */
async function tree(dir: string): Promise<string[]> {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${path.relative(dir, p)}/`);
        await walk(p);
      } else out.push(`${path.relative(dir, p)} ${(await fsp.stat(p)).size}`);
    }
  };
  await walk(dir);
  return out.sort();
}

let template: string;
let ids: string[];

beforeAll(async () => {
  template = path.join(await tmp(), 'data');
  const db = await createDB({ storeConfig: { dataDir: template, walSegmentSize: 8 * 1024, archive: { compression: { level: 3 } } } });
  ids = [];
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 150; i++) await db.set(`R${round}_${i}`, { round, i, pad: 'z'.repeat(80 + (i % 40)) });
    ids.push((await db.archive.create()).archiveId);
  }
  for (let i = 0; i < 150; i++) await db.set(`NEW_${i}`, { i, pad: 'n'.repeat(90) });
  await db.close();
}, 120_000);

/** A fresh copy of the template: a data directory with two archives and 150 lines not archived yet. */
async function fresh(): Promise<{ root: string; dataDir: string; archiveDir: string }> {
  const root = await tmp();
  const dataDir = path.join(root, 'data');
  await fsp.cp(template, dataDir, { recursive: true });
  return { root, dataDir, archiveDir: path.join(dataDir, 'archives') };
}

interface Case {
  name: string;
  /** The command, and the directories whose content a failed run must leave as it was. */
  setup(): Promise<{ args: string[]; watch: string[]; under: string; whole?: (entry: string) => Promise<boolean> }>;
}

const CASES: Case[] = [
  {
    name: 'archive create',
    async setup() {
      const { dataDir, archiveDir } = await fresh();
      return { args: ['archive', 'create', '-d', dataDir, '--level', '3'], watch: [archiveDir], under: archiveDir };
    },
  },
  {
    // A create of a stopped directory writes there its lock and bri-archive.json (nothing in wal/ when its last
    // segment ends whole: the tail is opened for writing only when a line must be mended).
    name: 'archive create (the data directory fails)',
    async setup() {
      const { dataDir, archiveDir } = await fresh();
      return { args: ['archive', 'create', '-d', dataDir, '--level', '3'], watch: [archiveDir], under: dataDir };
    },
  },
  {
    name: 'restore latest into a new directory',
    async setup() {
      const { root, dataDir } = await fresh();
      const out = path.join(root, 'out');
      await fsp.mkdir(out);
      const target = path.join(out, 'restored');
      return { args: ['restore', 'latest', '-d', dataDir, '--target', target], watch: [out], under: out };
    },
  },
  {
    name: 'restore from an archive, in place',
    async setup() {
      const { root, dataDir } = await fresh();
      return { args: ['restore', 'from', ids[0]!, '-d', dataDir, '--force'], watch: [root], under: root };
    },
  },
  {
    name: 'archive download',
    async setup() {
      const { root, dataDir } = await fresh();
      const out = path.join(root, 'out');
      await fsp.mkdir(out);
      return { args: ['archive', 'download', ids[1]!, path.join(out, 'copy.bri'), '-d', dataDir], watch: [out], under: out };
    },
  },
  {
    name: 'archive repair --out',
    async setup() {
      const { root, dataDir, archiveDir } = await fresh();
      const damaged = path.join(root, 'damaged.bri');
      const bytes = await fsp.readFile(path.join(archiveDir, `${ids[1]}.bri`));
      bytes[Math.floor(bytes.length / 3)]! ^= 0xff;
      await fsp.writeFile(damaged, bytes);
      const out = path.join(root, 'out');
      await fsp.mkdir(out);
      return { args: ['archive', 'repair', damaged, '--out', path.join(out, 'fixed.bri'), '-d', dataDir], watch: [out], under: out };
    },
  },
  {
    name: 'archive upload to a local remote',
    async setup() {
      const { root, dataDir } = await fresh();
      const nas = path.join(root, 'nas');
      await fsp.mkdir(nas);
      const config = path.join(root, 'config.json');
      await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas, retry: false }] }));
      // Uploading several archives may fail after some are whole on the remote: those (and their sidecars) may stay,
      // and the marker the store's first object leaves (.bri-remote.json: the disk is the one copies were put on).
      const whole = async (entry: string) => {
        if (/^\.bri-remote\.json \d+$/.test(entry)) return true;
        const m = /^archives\/\.?(.+\.bri)(\.bri-meta\.json)? \d+$/.exec(entry);
        if (!m) return false;
        if (m[2]) return true;
        return (await fsp.readFile(path.join(nas, 'archives', m[1]!))).equals(await fsp.readFile(path.join(dataDir, 'archives', m[1]!)));
      };
      return { args: ['archive', 'upload', '-d', dataDir, '-c', config], watch: [nas], under: nas, whole };
    },
  },
  {
    name: 'restore clone at a point in time',
    async setup() {
      const { root, dataDir } = await fresh();
      const out = path.join(root, 'out');
      await fsp.mkdir(out);
      const at = JSON.parse((await run(['archive', 'get', ids[1]!, '-d', dataDir, '--json'], null)).stdout).manifest.timeRange.start as string;
      return { args: ['restore', 'clone', '--at', at, '-d', dataDir, '--target', path.join(out, 'clone')], watch: [out], under: out };
    },
  },
  {
    name: 'archive verify of a remote copy (downloaded beside the archives)',
    async setup() {
      const { root, dataDir, archiveDir } = await fresh();
      const nas = path.join(root, 'nas');
      await fsp.mkdir(nas);
      const config = path.join(root, 'config.json');
      await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas, retry: false }] }));
      expect((await run(['archive', 'upload', '-d', dataDir, '-c', config], null)).code).toBe(0);
      return { args: ['archive', 'verify', ids[1]!, '--source', 'nas', '-d', dataDir, '-c', config], watch: [archiveDir], under: archiveDir };
    },
  },
  {
    name: 'archive cleanup-wal',
    async setup() {
      const { dataDir } = await fresh();
      return { args: ['archive', 'cleanup-wal', '-d', dataDir], watch: [], under: dataDir };
    },
  },
];

const FAULTS: Array<Omit<Fault, 'under'>> = [
  { code: 'ENOSPC', op: 'write', after: 0 },
  { code: 'ENOSPC', op: 'write', after: 1500 },
  { code: 'ENOSPC', op: 'write', after: 20_000 },
  { code: 'EIO', op: 'write', after: 60_000 },
  { code: 'EACCES', op: 'open', after: 0 },
  { code: 'EACCES', op: 'open', after: 2 },
  { code: 'ENOENT', op: 'mkdir', after: 0 },
  { code: 'EISDIR', op: 'open', after: 1 },
  { code: 'EROFS', op: 'rename', after: 0 },
  { code: 'EIO', op: 'fsync', after: 0 },
];

const CRASH = /internal error|Unhandled|triggerUncaughtException|\n\s+at [^\n]+:\d+:\d+/;

describe('injected I/O failures', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: every fault is a typed error with a hint, leaves nothing behind, and the run without it succeeds', async (_name, c) => {
    let tripped = 0;
    for (const f of FAULTS) {
      const { args, watch, under, whole } = await c.setup();
      const before = await Promise.all(watch.map(tree));
      const fault = { ...f, under };
      const res = await run(args, fault);
      const ctx = `${c.name} with ${JSON.stringify(f)}: exit ${res.code} ${res.signal ?? ''}\n${res.stderr}`;
      expect(res.signal, ctx).toBeNull();
      expect(res.stderr, ctx).not.toMatch(CRASH);
      if (res.code === 0) continue; // the fault was not met: the command did its work
      {
        tripped++;
        // One typed error (or, for uploads, each failed copy's status with its code) and what to do about it.
        expect(res.stderr, ctx).toMatch(/^error \[[A-Z_]+\]: |FAILED: \[[A-Z_]+\]/m);
        expect(res.stderr, ctx).toMatch(/^\s*hint: /m);
        // Nothing partial: the directories written to are as they were (scratch files and temp dirs gone).
        // (Files only: an empty directory a store made for its keys is not a partial file.)
        const files = (t: string[]) => t.filter((e) => !e.endsWith('/'));
        const after = await Promise.all(watch.map(tree));
        const kept = await Promise.all(after.map(async (t, i) => (await Promise.all(files(t).map(async (e) => (before[i]!.includes(e) || !(whole && (await whole(e))) ? [e] : [])))).flat()));
        expect(kept, ctx).toEqual(before.map(files));
      }
      // The same command, the fault gone, succeeds.
      const again = await run(args, null);
      expect(again.code, `${ctx}\nthen without the fault: ${again.stderr}`).toBe(0);
    }
    console.log(`io faults: ${c.name}: ${FAULTS.length} faults, ${tripped} made the command fail (typed, nothing left), all ${FAULTS.length} reruns succeeded`);
    expect(tripped).toBeGreaterThan(0);
  }, 600_000);

  it('download into a folder that does not exist (made), into a directory (under the archive\'s name), to a path under a file: the first two work, the last is a typed error with a hint', async () => {
    const { root, dataDir } = await fresh();
    const made = await run(['archive', 'download', ids[0]!, path.join(root, 'missing', 'copy.bri'), '-d', dataDir], null);
    expect(made.code, made.stderr).toBe(0);
    expect(fs.existsSync(path.join(root, 'missing', 'copy.bri'))).toBe(true);
    const into = await run(['archive', 'download', ids[0]!, root, '-d', dataDir], null);
    expect(into.code, into.stderr).toBe(0);
    expect(fs.existsSync(path.join(root, `${ids[0]}.bri`))).toBe(true);
    await fsp.writeFile(path.join(root, 'a-file'), 'x');
    const under = await run(['archive', 'download', ids[0]!, path.join(root, 'a-file', 'copy.bri'), '-d', dataDir], null);
    expect(under.code).not.toBe(0);
    expect(under.stderr).not.toMatch(CRASH);
    expect(under.stderr).toMatch(/^error \[(IO_ERROR|USAGE)\]/m);
    expect(under.stderr).toMatch(/^hint: /m);
  }, 60_000);

  it('db.archive.create() on a full disk inside a running application: caught, the application writes on, the disk freed, the next create succeeds', async () => {
    const { dataDir, archiveDir } = await fresh();
    const script = path.join(REPO_ROOT, 'test/fault/children/full-disk-app.ts');
    const res = await run([dataDir], { code: 'ENOSPC', op: 'write', under: archiveDir, after: 4000 }, script);
    expect(res.stderr).not.toMatch(CRASH);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^CAUGHT IO_ERROR .*no space left/m);
    expect(res.stdout).toMatch(/^HINT .*full/m);
    expect(res.stdout).toMatch(/^WROTE 50$/m);
    expect(res.stdout).toMatch(/^CLOSED$/m);
    expect(await tree(path.join(archiveDir, '.tmp'))).toEqual([]);
    const again = await run(['archive', 'create', '-d', dataDir], null);
    expect(again.code, again.stderr).toBe(0);
  }, 120_000);
});
