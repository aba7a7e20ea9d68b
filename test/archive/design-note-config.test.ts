/**
 * The configuration of BRI's design note (../shared/seed/archive-and-restore.md, "Configuration"), as users
 * will type it: the whole block opens, and each of its keys means what the note says (`manual: true // Allow
 * manual triggering` beside the triggers, `compression.algorithm: 'zstd'`, `restoreSources` given as locations,
 * `cleanupSnapshots`, the store's `maxMemoryMB`). A value the note's meaning cannot keep is refused, named.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { parseArchiveConfig } from '../../src/archive/config.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-design-note-config-');

/** The note's block, its paths under `root` (the note's ./data). */
function noteConfig(root: string) {
  const dataDir = path.join(root, 'data');
  return {
    dataDir,
    maxMemoryMB: 256,
    archive: {
      enabled: true,
      localDir: path.join(dataDir, 'archives'),
      keepLocal: 3,
      triggers: { schedule: '0 2 * * *', walSizeMB: 100, walSegments: 10, manual: true },
      compression: { algorithm: 'zstd' as const, level: 19 },
      errorCorrection: { enabled: true, redundancy: 0.1 },
      remote: { provider: 's3', bucket: 'my-bri-archives', prefix: 'production/', region: 'us-east-1', retentionDays: 365, storageClass: 'STANDARD_IA', glacierAfterDays: 90 },
      restoreSources: [
        { type: 's3', bucket: 'my-bri-archives', prefix: 'production/', region: 'us-east-1' },
        { type: 'local', path: path.join(dataDir, 'archives') },
      ],
      cleanupWal: true,
      cleanupSnapshots: true,
    },
  };
}

function refusal(f: () => unknown): { code: string; message: string; hint?: string } {
  try {
    f();
  } catch (err) {
    return err as { code: string; message: string; hint?: string };
  }
  throw new Error('expected a refusal');
}

describe("the design note's configuration, as written", () => {
  it('opens a database, writes and reads it back, and closes (no key of the block refused)', async () => {
    const storeConfig = noteConfig(await tempDir());
    const db = await createDB({ storeConfig });
    try {
      await db.set('USER_1', { name: 'Ada' });
      expect(db.get('USER_1')).toEqual({ name: 'Ada' });
    } finally {
      await db.close();
    }
    expect(fs.existsSync(path.join(storeConfig.dataDir, 'snapshot.jss'))).toBe(true);
  });

  it('restoreSources given as locations are the sources configured there, in the order given', async () => {
    const root = await tempDir();
    const c = noteConfig(root).archive;
    expect(parseArchiveConfig(c).restoreSources).toEqual(['s3', 'local']);
    // A prefix however it is spelt, a region left to the remote, names mixed with locations.
    expect(parseArchiveConfig({ ...c, restoreSources: ['local', { type: 's3', bucket: 'my-bri-archives', prefix: '/production' }] }).restoreSources).toEqual(['local', 's3']);
    // A local remote by its path (followed through a link), and the archive directory as { type: 'local' }.
    const nas = path.join(root, 'nas');
    fs.mkdirSync(nas);
    fs.symlinkSync(nas, path.join(root, 'nas-link'));
    const withNas = { ...c, remotes: [{ provider: 'local', name: 'nas', path: nas }], remote: undefined };
    expect(parseArchiveConfig({ ...withNas, keepLocal: undefined, restoreSources: [{ type: 'local', path: path.join(root, 'nas-link') }, { type: 'local' }] }).restoreSources).toEqual(['nas', 'local']);
  });

  it('a location whose prefix no remote can have is CONFIG_INVALID naming the entry\'s prefix, with a hint (not a USAGE without one)', async () => {
    const c = noteConfig(await tempDir()).archive;
    for (const [prefix, why] of [['../production', "'..'"], ['production//x', 'empty segment'], [7, 'must be a string']] as const) {
      const err = refusal(() => parseArchiveConfig({ ...c, restoreSources: ['local', { type: 's3', bucket: 'my-bri-archives', prefix }] } as never));
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toContain('archive.restoreSources[1].prefix: ');
      expect(err.message).toContain(why);
      expect(err.hint).toMatch(/prefix/);
    }
  });

  it('a location where no archive is kept is CONFIG_INVALID naming the entry and the sources, never a secret given with it', async () => {
    const c = noteConfig(await tempDir()).archive;
    for (const entry of [
      { type: 's3', bucket: 'my-bri-archives', prefix: 'staging/' },
      { type: 's3', bucket: 'other-bucket', prefix: 'production/', credentials: { accessKeyId: 'AKIASECRETSECRET', secretAccessKey: 'very-secret-key' } },
      { type: 'gcs', bucket: 'my-bri-archives', prefix: 'production/' },
      { type: 'local', path: '/srv/elsewhere' },
    ]) {
      const err = refusal(() => parseArchiveConfig({ ...c, restoreSources: ['local', entry] }));
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.message).toMatch(/^archive\.restoreSources\[1\]: this \w+ location .* is not where this configuration keeps archives: the sources are local \(.*\), s3 \(s3:\/\/my-bri-archives\/production\/\)$/);
      expect(err.hint).toMatch(/add this location as a remote/);
      expect(JSON.stringify(err)).not.toMatch(/AKIASECRET|very-secret/);
    }
    expect(refusal(() => parseArchiveConfig({ ...c, restoreSources: [{ bucket: 'my-bri-archives' }] })).message).toMatch(/^archive\.restoreSources\.0: must be a source's name .* or its location/);
  });

  it("compression.algorithm is 'zstd' (anything else refused), cleanupSnapshots true (false refused: there is nothing to keep)", () => {
    expect(parseArchiveConfig({ compression: { algorithm: 'zstd', level: 5 } }).compression).toMatchObject({ algorithm: 'zstd', level: 5 });
    expect(refusal(() => parseArchiveConfig({ compression: { algorithm: 'gzip' as 'zstd' } })).message).toMatch(/^archive\.compression\.algorithm: must be 'zstd'/);
    expect(parseArchiveConfig({ cleanupSnapshots: true }).cleanupSnapshots).toBe(true);
    expect(refusal(() => parseArchiveConfig({ cleanupSnapshots: false })).message).toMatch(/^archive\.cleanupSnapshots: false asks to keep old snapshots, and there are none to keep/);
  });

  it('maxMemoryMB: a positive number is taken, anything else refused; a snapshot past it is warned of (BRI_MAX_MEMORY), never refused', async () => {
    const root = await tempDir();
    for (const bad of [0, -1, Number.NaN, Infinity, '256']) {
      await expect(createDB({ storeConfig: { dataDir: path.join(root, 'never'), maxMemoryMB: bad as number } })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^storeConfig\.maxMemoryMB: must be a number of MiB greater than 0/) });
    }
    expect(fs.existsSync(path.join(root, 'never'))).toBe(false);
    const dataDir = path.join(root, 'data');
    const first = await createDB({ storeConfig: { dataDir, maxMemoryMB: 0.001 } });
    for (let i = 0; i < 20; i++) await first.set(`DOC_${i}`, { pad: 'x'.repeat(100) });
    await first.close(); // a snapshot of about 2.5 KB, past 0.001 MiB
    const warnings: Array<{ code?: string; message: string }> = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const db = await createDB({ storeConfig: { dataDir, maxMemoryMB: 0.001 } });
      expect(db.get('DOC_19')).toEqual({ pad: 'x'.repeat(100) });
      await db.close();
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.code === 'BRI_MAX_MEMORY').map((w) => w.message)).toEqual([expect.stringMatching(/^storeConfig\.maxMemoryMB is 0\.001, and the snapshot alone is .* MiB: this store keeps every document in memory/)]);
  });
});

describe("triggers.manual: false (archives by the triggers only, as 'allow manual triggering' false says)", () => {
  it('a create by hand is USAGE naming the setting, nothing is archived; the trigger still archives', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { triggers: { manual: false, walEntries: 10 }, compression: { level: 1 } } } });
    try {
      for (let i = 0; i < 3; i++) await db.set(`A_${i}`, { i });
      await expect(db.archive.create({ name: 'by-hand' })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('archive.triggers.manual is false'), details: { setting: 'archive.triggers.manual' } });
      expect(await db.archive.list()).toEqual([]);
      const finished = new Promise((resolve) => db.archive.once('finished', resolve));
      for (let i = 3; i < 10; i++) await db.set(`A_${i}`, { i });
      await finished;
      expect((await db.archive.list()).map((a) => a.manifest.timeRange.walLines)).toEqual([{ start: 0, end: 10 }]);
    } finally {
      await db.close();
    }
  });

  it('bri archive create --config with manual: false exits 2 (USAGE) and writes no archive; with the note\'s keys (manual: true beside the triggers, a local source by its path relative to the file) it archives', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('K', { v: 1 });
    await db.close();
    const off = path.join(root, 'off.json');
    fs.writeFileSync(off, JSON.stringify({ triggers: { manual: false, schedule: '0 2 * * *' } }));
    const r = await runCli(['archive', 'create', '-d', dataDir, '--config', off]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/USAGE.*archive\.triggers\.manual is false/);
    const archives = () => (fs.existsSync(path.join(dataDir, 'archives')) ? fs.readdirSync(path.join(dataDir, 'archives')).filter((f) => f.endsWith('.bri')) : []);
    expect(archives()).toEqual([]);
    const on = path.join(root, 'on.json');
    // The note's relative paths: in a --config file, relative to the file (as localDir is), whatever the working directory.
    fs.writeFileSync(on, JSON.stringify({ localDir: './data/archives', restoreSources: [{ type: 'local', path: './data/archives' }], triggers: { manual: true, schedule: '0 2 * * *', walSizeMB: 100 }, compression: { algorithm: 'zstd', level: 3 }, cleanupSnapshots: true }));
    const ok = await runCli(['archive', 'create', '-d', dataDir, '--config', on]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(archives()).toHaveLength(1);
  });
});

describe("the design note's other places for the same settings", () => {
  it('trigger keys in the archive block itself (its section on triggers) are the triggers; one given in both places is refused', () => {
    expect(parseArchiveConfig({ intervalMs: 86_400_000, schedule: '0 2 * * *', walSizeMB: 100, walSegments: 10, walEntries: 100_000, manual: true }).triggers).toEqual({
      intervalMs: 86_400_000,
      schedule: '0 2 * * *',
      walSizeMB: 100,
      walSegments: 10,
      walEntries: 100_000,
      manual: true,
    });
    expect(parseArchiveConfig({ walEntries: 5, triggers: { schedule: '0 2 * * *' } }).triggers).toEqual({ schedule: '0 2 * * *', walEntries: 5 });
    expect(refusal(() => parseArchiveConfig({ schedule: '0 2 * * *', triggers: { schedule: '0 3 * * *' } })).message).toBe('archive.schedule: is given here and in triggers: keep one');
    expect(refusal(() => parseArchiveConfig({ schedule: '61 * * * *' })).message).toMatch(/^archive\.triggers\.schedule: is not a cron expression/);
    expect(parseArchiveConfig({ sources: ['local'] }).restoreSources).toEqual(['local']);
    expect(refusal(() => parseArchiveConfig({ sources: ['local'], restoreSources: ['local'] })).message).toMatch(/^archive\.sources: is given beside restoreSources/);
  });

  it('a walEntries trigger written in the archive block archives on a running database', async () => {
    const dataDir = path.join(await tempDir(), 'data');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { walEntries: 5, compression: { level: 1 } } } });
    try {
      const finished = new Promise((resolve) => db.archive.once('finished', resolve));
      for (let i = 0; i < 5; i++) await db.set(`A_${i}`, { i });
      await finished;
      expect(await db.archive.list()).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it("restore hooks in `hooks`, with the note's arguments: archive.archiveId, (segment, { current, total }), result.archive; hooks.onError hears a failed restore", async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 512 } });
    for (let i = 0; i < 30; i++) await db.set(`K_${i}`, { i, pad: 'x'.repeat(20) });
    const made = await db.archive.create();
    await db.close();
    const said: string[] = [];
    const hooks = {
      beforeRestore: (archive: { archiveId: string | null }) => void said.push(`before ${archive.archiveId}`),
      afterSnapshotRestore: () => void said.push('snapshot'),
      afterWalSegmentRestore: (_segment: unknown, progress: { current: number; total: number }) => void said.push(`segment ${progress.current}/${progress.total}`),
      afterRestore: (result: { archive: string | null }) => void said.push(`after ${result.archive}`),
      onError: (error: unknown) => void said.push(`error ${(error as { code?: string }).code}`),
    };
    const { openRestore } = await import('../../src/archive/restore-api.js');
    const done = await openRestore({ dataDir, config: { hooks } }).fromLatest({ targetDir: path.join(root, 'copy') });
    // The note's result fields beside ours.
    expect(done).toMatchObject({ success: true, archive: made.manifest.archiveId, restoredTo: path.join(root, 'copy'), timestamp: done.lastTimestamp });
    expect(done.wouldRestore).toBeUndefined();
    const at = made.manifest.contents.segments[0]!.lastTimestamp!;
    const dry = await openRestore({ dataDir }).toTimestamp(at, { targetDir: path.join(root, 'then'), dryRun: true });
    expect(dry).toMatchObject({ success: true, wouldRestore: true, archive: made.manifest.archiveId, restoredTo: path.join(root, 'then'), timestamp: at });
    // A clone's result names its directory as the note's clone() does (clonedTo), beside its new instance id.
    const cloned = await openRestore({ dataDir }).clone({ targetDir: path.join(root, 'clone'), newInstanceId: 'bri-clone-01' });
    expect(cloned).toMatchObject({ success: true, clonedTo: path.join(root, 'clone'), restoredTo: path.join(root, 'clone'), instanceId: 'bri-clone-01', newInstance: true });
    const segments = made.manifest.contents.segments.length;
    expect(segments).toBeGreaterThan(1);
    expect(said).toEqual([`before ${made.manifest.archiveId}`, 'snapshot', ...Array.from({ length: segments }, (_, i) => `segment ${i + 1}/${segments}`), `after ${made.manifest.archiveId}`]);
    said.length = 0;
    await expect(openRestore({ dataDir, config: { hooks } }).fromLatest({ targetDir: path.join(root, 'copy') })).rejects.toMatchObject({ code: 'RESTORE_ERROR' });
    expect(said).toEqual(['error RESTORE_ERROR']);
  });
});
