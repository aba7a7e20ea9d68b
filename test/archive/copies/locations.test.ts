/**
 * No accepted setting loses a copy: the data directory, its wal/, the archive
 * directory, each local remote and a restore target never overlap (compared
 * by real path), two remotes never resolve to one location, and a copy counts
 * as another copy only at another location (by file identity, even through a
 * link made after the settings were checked). The property runs whole
 * lifecycles on generated layouts: each is refused at the start, or every
 * archive it made is still restorable at the end.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { checkLocations, checkRestoreTarget } from '../../../src/archive/copies/locations.js';
import { createDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';
import { toPlainState, type PlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-locations-');

const local = (p: string, prefix?: string) => ({ provider: 'local' as const, path: p, ...(prefix !== undefined ? { prefix } : {}) });
const place = (setting: string, p: string, prefix = '') => ({ setting, description: { provider: 'local' as const, location: p, path: p, prefix } });

describe('overlapping locations are refused up front', () => {
  it('checkLocations: each kind of overlap names both settings; apart is accepted', async () => {
    const r = await tmp();
    const d = path.join(r, 'data');
    const refused = (s: Parameters<typeof checkLocations>[0]) => {
      try {
        checkLocations(s);
        return null;
      } catch (err) {
        expect(isBriError(err, 'CONFIG_INVALID'), String(err)).toBe(true);
        return (err as Error).message;
      }
    };
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [place("remote 'nas'", path.join(r, 'nas'))] })).toBeNull();
    expect(refused({ dataDir: d, archiveDir: path.join(r, 'elsewhere'), remotes: [] })).toBeNull();
    expect(refused({ dataDir: d, archiveDir: d, remotes: [] })).toMatch(/archive directory.*is the same directory as the data directory/);
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'wal'), remotes: [] })).toMatch(/wal belongs to the store/);
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'wal', 'deep'), remotes: [] })).toMatch(/wal belongs to the store/);
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'cold'), remotes: [] })).toMatch(/cold belongs/);
    expect(refused({ dataDir: path.join(r, 'a', 'data'), archiveDir: path.join(r, 'a'), remotes: [] })).toMatch(/contains the data directory/);
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [place("remote 'nas'", d)] })).toMatch(/remote 'nas'.*the data directory/);
    // A prefix is part of the location: <parent>/data is the data directory.
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [place("remote 'nas'", r, 'data/')] })).toMatch(/remote 'nas'/);
    expect(refused({ dataDir: d, archiveDir: path.join(r, 'arch'), remotes: [place("remote 'nas'", path.join(r, 'arch', 'sub'))] })).toMatch(/inside the archive directory/);
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [place("remote 'a'", path.join(r, 'nas')), place("remote 'b'", path.join(r, 'nas'))] })).toMatch(/remote 'b'.*remote 'a'/);
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [place("remote 'a'", path.join(r, 'nas')), place("remote 'b'", path.join(r, 'nas', 'x'))] })).toMatch(/remote 'b'.*inside remote 'a'/);
    // Cloud remotes: one bucket and prefixes that contain one another are one location; different prefixes are not.
    const s3 = (name: string, prefix: string, endpoint?: string) => ({ setting: `remote '${name}'`, description: { provider: 's3' as const, location: `s3://b/${prefix}`, bucket: 'b', prefix, ...(endpoint ? { endpoint } : {}) } });
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [s3('x', 'prod/'), s3('y', 'prod/')] })).toMatch(/point at one location/);
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [s3('x', ''), s3('y', 'prod/')] })).toMatch(/point at one location/);
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [s3('x', 'prod/'), s3('y', 'staging/')] })).toBeNull();
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [s3('x', 'prod/'), s3('y', 'prod/', 'http://127.0.0.1:9000')] })).toBeNull();
    // One service spelled two ways is one location: the provider's own endpoint (any spelling) and none; every loopback name of one port.
    const one = (a: ReturnType<typeof s3>, b: ReturnType<typeof s3>) => refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [a, b] });
    expect(one(s3('x', 'p/'), s3('y', 'p/', 'https://s3.us-east-1.amazonaws.com'))).toMatch(/point at one location/);
    expect(one(s3('x', 'p/', 'https://s3.amazonaws.com'), s3('y', 'p/', 'https://s3.eu-west-1.amazonaws.com/'))).toMatch(/point at one location/);
    expect(one(s3('x', 'p/', 'http://127.0.0.1:45991'), s3('y', 'p/', 'http://localhost:45991'))).toMatch(/point at one location/);
    expect(one(s3('x', 'p/', 'http://[::1]:45991'), s3('y', 'p/', 'http://LOCALHOST:45991/'))).toMatch(/point at one location/);
    expect(one(s3('x', 'p/', 'https://minio.example:443'), s3('y', 'p/', 'https://MINIO.example'))).toMatch(/point at one location/);
    const gcs = (name: string, endpoint?: string) => ({ setting: `remote '${name}'`, description: { provider: 'gcs' as const, location: 'gs://b/', bucket: 'b', prefix: '', ...(endpoint ? { endpoint } : {}) } });
    expect(refused({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [gcs('x'), gcs('y', 'https://storage.googleapis.com')] })).toMatch(/point at one location/);
    // Other servers, or other ports of one, are other places.
    expect(one(s3('x', 'p/', 'http://127.0.0.1:45991'), s3('y', 'p/', 'http://localhost:45992'))).toBeNull();
    expect(one(s3('x', 'p/', 'https://minio-a.example'), s3('y', 'p/', 'https://minio-b.example'))).toBeNull();
    expect(one(s3('x', 'p/'), s3('y', 'p/', 'https://minio.example'))).toBeNull();
  });

  it('compares real paths: a link to the data directory is the data directory', async () => {
    const r = await tmp();
    const d = path.join(r, 'data');
    await fsp.mkdir(d);
    await fsp.symlink(d, path.join(r, 'link'));
    expect(() => checkLocations({ dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [place("remote 'nas'", path.join(r, 'link'))] })).toThrow(/remote 'nas'/);
    expect(() => checkRestoreTarget(path.join(r, 'link', 'archives'), { dataDir: d, archiveDir: path.join(d, 'archives'), remotes: [] })).toThrow(/restore target/);
  });

  it('bri: a remote at the data directory, two remotes at one path, an archive directory in wal/, a restore into the archives: refused (exit 2), nothing lost', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 20; i++) await db.set(`K_${i}`, { i });
    const a = await db.archive.create();
    await db.close();
    const config = async (archive: unknown) => {
      const f = path.join(r, `c${Math.random().toString(36).slice(2)}.json`);
      await fsp.writeFile(f, JSON.stringify(archive));
      return f;
    };
    const expectRefused = (res: { code: number | null; stderr: string }, ...words: RegExp[]) => {
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).not.toMatch(/internal error|at .*\.ts:\d+/);
      for (const w of words) expect(res.stderr).toMatch(w);
    };
    await fsp.mkdir(path.join(r, 'nas'));
    expectRefused(await runCli(['archive', 'create', '-d', dataDir, '-c', await config({ keepLocal: 0, remotes: [local(dataDir)] })]), /CONFIG_INVALID/, /remote 'local'|remote '/, /data directory/);
    expectRefused(await runCli(['archive', 'prune', '-d', dataDir, '-c', await config({ keepLocal: 0, remotes: [{ ...local(path.join(r, 'nas')), name: 'a' }, { ...local(path.join(r, 'nas') + '/'), name: 'b' }] })]), /remote 'b'/, /remote 'a'/);
    expectRefused(await runCli(['archive', 'create', '-d', dataDir, '-a', path.join(dataDir, 'wal')]), /wal belongs to the store/);
    const before = fs.readdirSync(path.join(dataDir, 'archives')).sort();
    expectRefused(await runCli(['restore', 'latest', '-d', dataDir, '--target', path.join(dataDir, 'archives'), '--force', '--clean-existing']), /USAGE/, /restore target/, /archive directory|data directory/);
    expect(fs.readdirSync(path.join(dataDir, 'archives')).sort()).toEqual(before);
    expect(before).toContain(`${a.archiveId}.bri`);
  });
});

describe('a restore compares real paths too', () => {
  it('an archive directory named through a link into the data directory moves on with an in-place --clean-existing restore; a target that links to the data directory is a restore in place (the link stays); a clone into it is refused', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const write = async (from: number, n: number) => {
      const db = await createDB({ storeConfig: { dataDir } });
      for (let i = from; i < from + n; i++) await db.set(`K_${i}`, { i });
      await db.close();
    };
    await write(0, 5);
    await fsp.mkdir(path.join(dataDir, 'archives'));
    const arcLink = path.join(r, 'arclink');
    await fsp.symlink(path.join(dataDir, 'archives'), arcLink);
    for (const round of [0, 1]) {
      if (round) await write(5, 3);
      const made = await runCli(['archive', 'create', '-q', '-d', dataDir, '-a', arcLink]);
      expect(made.code, made.stderr).toBe(0);
    }
    const archives = fs.readdirSync(path.join(dataDir, 'archives')).filter((f) => f.endsWith('.bri')).sort();
    expect(archives).toHaveLength(2);
    const restored = await runCli(['restore', 'latest', '-d', dataDir, '-a', arcLink, '--force', '--clean-existing']);
    expect(restored.code, restored.stderr).toBe(0);
    // Every archive is still there, and listed.
    expect(fs.readdirSync(path.join(dataDir, 'archives')).filter((f) => f.endsWith('.bri')).sort()).toEqual(archives);
    const listed = await runCli(['archive', 'list', '--json', '-d', dataDir, '-a', arcLink]);
    expect((JSON.parse(listed.stdout) as { archives: unknown[] }).archives).toHaveLength(2);
    // A target named by a link to the data directory: the directory is restored, the link is left a link.
    const dataLink = path.join(r, 'datalink');
    await fsp.symlink(dataDir, dataLink);
    await write(8, 2);
    const viaLink = await runCli(['restore', 'latest', '--json', '-d', dataDir, '--target', dataLink, '--force', '--clean-existing']);
    expect(viaLink.code, viaLink.stderr).toBe(0);
    expect(fs.lstatSync(dataLink).isSymbolicLink()).toBe(true);
    expect((JSON.parse(viaLink.stdout) as { targetDir: string }).targetDir).toBe(fs.realpathSync(dataDir));
    expect(fs.readdirSync(path.join(dataDir, 'archives')).filter((f) => f.endsWith('.bri')).sort()).toEqual(archives);
    expect((await recover(dataDir)).state.documents.size).toBe(8);
    const clone = await runCli(['restore', 'clone', '-d', dataDir, '--target', dataLink, '--force']);
    expect(clone.code, clone.stderr).toBe(2);
    expect(clone.stderr).toMatch(/a clone needs a target other than the data directory/);
  }, 60_000);
});

describe('a copy is another copy only at another location', () => {
  it('a remote that becomes the archive directory through a link later: the upload fails, WAL cleanup keeps every segment, pruning keeps the only copy', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 2048, archive: { keepLocal: 0, cleanupWal: true, compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    try {
      for (let i = 0; i < 40; i++) await db.set(`K_${i}`, { i, pad: 'x'.repeat(50) });
      // The settings were checked at open; now the remote's directory becomes a link to the data directory.
      await fsp.rm(nas, { recursive: true });
      await fsp.symlink(dataDir, nas);
      const segmentsBefore = fs.readdirSync(path.join(dataDir, 'wal')).length;
      const created = await db.archive.create();
      expect(created.uploads.map((u) => [u.source, u.outcome, u.error?.code])).toEqual([['nas', 'failed', 'CONFIG_INVALID']]);
      expect(created.uploads[0]!.error!.message).toMatch(/very file/);
      expect(await db.archive.isStoredEverywhere(created.archiveId)).toBe(false);
      expect(created.cleanup && 'segments' in created.cleanup ? created.cleanup.segments : created.cleanup).toEqual([]);
      expect(fs.readdirSync(path.join(dataDir, 'wal')).length).toBeGreaterThanOrEqual(segmentsBefore);
      const pruned = await db.archive.prune();
      expect(pruned.removed).toEqual([]);
      expect(fs.existsSync(created.file)).toBe(true);
    } finally {
      await db.close();
    }
  });
});

describe('a remote that reaches the archive directory through one of its folders', () => {
  it('an archives/ linked to the archive directory is refused when given; made so later, deleting "the remote\'s copy" is refused instead of deleting the only file', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const db0 = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 5; i++) await db0.set(`K_${i}`, { i });
    await db0.archive.create();
    await db0.close();
    const config = path.join(r, 'c.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    await fsp.symlink(path.join(dataDir, 'archives'), path.join(nas, 'archives'));
    const listed = await runCli(['archive', 'list', '-d', dataDir, '-c', config]);
    expect(listed.code, listed.stderr).toBe(2);
    expect(listed.stderr).toMatch(/CONFIG_INVALID.*remote 'nas'/);
    await fsp.rm(path.join(nas, 'archives'));
    // In a running application, the link made after the settings were checked.
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] } } });
    try {
      await db.set('MORE', { v: 1 });
      const made = await db.archive.create();
      expect(made.uploads.filter((u) => u.archiveId === made.archiveId).map((u) => u.outcome)).toEqual(['uploaded']);
      await fsp.rm(path.join(nas, 'archives'), { recursive: true });
      await fsp.symlink(path.join(dataDir, 'archives'), path.join(nas, 'archives'));
      const err = await db.archive.delete(made.archiveId, { source: 'nas', force: true }).catch((e: unknown) => e);
      expect(isBriError(err, 'USAGE'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/very file/);
      expect(fs.existsSync(made.file)).toBe(true);
    } finally {
      await db.close();
    }
  });
});

describe('files a command writes keep out of what the tool owns', () => {
  it('download and repair --out refuse the data directory\'s files, a remote\'s directory and another archive; the archive\'s own name and a place outside are written', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 5; i++) await db.set(`A_${i}`, { i });
    const first = await db.archive.create();
    for (let i = 0; i < 5; i++) await db.set(`B_${i}`, { i });
    const second = await db.archive.create();
    await db.close();
    const config = path.join(r, 'c.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }] }));
    const snapshot = await fsp.readFile(path.join(dataDir, 'snapshot.jss'));
    const firstBytes = await fsp.readFile(first.file);
    const damaged = path.join(r, 'damaged.bri');
    await fsp.copyFile(second.file, damaged);
    for (const [args, what] of [
      [['archive', 'download', second.archiveId, path.join(dataDir, 'snapshot.jss')], 'snapshot.jss'],
      [['archive', 'download', second.archiveId, path.join(dataDir, 'wal')], 'wal/ as a folder'],
      [['archive', 'download', second.archiveId, first.file], 'another archive'],
      [['archive', 'download', second.archiveId, path.join(nas, 'x.bri')], 'a remote'],
      [['archive', 'repair', damaged, '--out', first.file], 'repair over another archive'],
      [['archive', 'repair', damaged, '--out', path.join(dataDir, 'wal', '000000.wal')], 'repair over a WAL segment'],
    ] as const) {
      const res = await runCli([...args, '-d', dataDir, '-c', config]);
      expect(res.code, `${what}: ${res.stderr}`).toBe(2);
      expect(res.stderr, what).toMatch(/USAGE/);
    }
    expect(await fsp.readFile(path.join(dataDir, 'snapshot.jss'))).toEqual(snapshot);
    expect(await fsp.readFile(first.file)).toEqual(firstBytes);
    expect((await recover(dataDir)).state.documents.size).toBe(10);
    expect(fs.readdirSync(path.join(dataDir, 'wal')).filter((f) => f.endsWith('.bri'))).toEqual([]);
    const onItself = await runCli(['archive', 'download', second.archiveId, second.file, '-d', dataDir, '-c', config]);
    expect(onItself.code, onItself.stderr).toBe(0);
    const outside = await runCli(['archive', 'download', second.archiveId, path.join(r, 'copy.bri'), '-d', dataDir, '-c', config]);
    expect(outside.code, outside.stderr).toBe(0);
  }, 60_000);
});

/** Where a generated layout puts each thing, relative to a root holding `data`. */
const SPOTS = ['data', 'data/archives', 'data/wal', 'data/backups', 'arch', 'nas', 'nas/sub', '.', 'data/archives/nas', 'other'] as const;
const layout = fc.record({
  archiveDir: fc.constantFrom<(typeof SPOTS)[number]>('data/archives', 'data/wal', 'data', 'data/backups', 'arch', '.', 'nas'),
  remotes: fc.array(fc.record({ spot: fc.constantFrom(...SPOTS), prefix: fc.constantFrom('', 'p', 'data', 'archives') }), { maxLength: 2 }),
  target: fc.constantFrom(...SPOTS),
  keepLocal: fc.constantFrom(0, 1, undefined),
  clean: fc.boolean(),
});

describe('property: overlapping layouts are refused at the start, or every archive stays restorable', () => {
  it('create / upload / prune / cleanup / restore cycles on generated layouts', async () => {
    let refusedAtStart = 0;
    let refusedTarget = 0;
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(layout, async (l) => {
        const r = await tmp();
        // Remote roots must exist (like a bucket); none is made inside the data directory, which must start empty.
        for (const s of SPOTS) if (s !== 'data' && !s.startsWith('data/')) await fsp.mkdir(path.join(r, s), { recursive: true });
        const dataDir = path.join(r, 'data');
        const at = (s: string) => path.join(r, s);
        const archive = {
          localDir: at(l.archiveDir),
          cleanupWal: true,
          compression: { level: 1 },
          ...(l.keepLocal !== undefined ? { keepLocal: l.keepLocal } : {}),
          remotes: l.remotes.map((x, i) => ({ provider: 'local', name: `r${i}`, path: at(x.spot), ...(x.prefix ? { prefix: x.prefix } : {}) })),
        };
        let db;
        try {
          db = await createDB({ storeConfig: { dataDir, walSegmentSize: 1024, snapshotOnClose: true, archive } });
        } catch (err) {
          if (!isBriError(err, 'CONFIG_INVALID')) throw err;
          refusedAtStart++;
          return;
        }
        const ids: string[] = [];
        const states = new Map<string, PlainState>();
        try {
          for (let round = 0; round < 3; round++) {
            for (let i = 0; i < 15; i++) await db.set(`R${round}_${i}`, { round, i, pad: 'y'.repeat(40) });
            const a = await db.archive.create();
            ids.push(a.archiveId);
            states.set(a.archiveId, toPlainState(db.state));
          }
          await db.archive.prune();
          await db.archive.cleanupWal();
        } finally {
          await db.close();
        }
        const restore = openRestore({ dataDir, config: archive });
        try {
          await restore.fromLatest({ targetDir: at(l.target), force: true, cleanExisting: l.clean });
        } catch (err) {
          if (!isBriError(err, 'USAGE')) throw err;
          expect((err as Error).message).toMatch(/restore target/);
          refusedTarget++;
        }
        // Every archive made is restorable, from whatever copies are left, to the state it was made at.
        const again = openRestore({ dataDir, config: archive });
        for (const id of ids) {
          const out = path.join(r, 'check', id);
          await again.from(id, { targetDir: out });
          expect(toPlainState((await recover(out)).state), `archive ${id} of layout ${JSON.stringify(l)}`).toEqual(states.get(id));
        }
        ran++;
      }),
      { numRuns: Number(process.env.LOCATIONS_RUNS ?? 60), seed: Number(process.env.LOCATIONS_SEED ?? Date.now() % 1e9) },
    );
    console.log(`locations property: ${ran + refusedAtStart} layouts: ${refusedAtStart} refused at the start, ${refusedTarget} restore targets refused, ${ran} ran whole lifecycles with every archive restorable`);
    expect(ran).toBeGreaterThan(0);
    expect(refusedAtStart).toBeGreaterThan(0);
  }, 600_000);
});
