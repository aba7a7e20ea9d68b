/**
 * Retention carried out: automatic pruning after each archive (keepLocal with a
 * remote), retentionDays and per-archive retention by `bri archive prune`
 * (dry run first), never the newest or a permanent archive, and what is left
 * still restores.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { parseArchiveConfig } from '../../../src/archive/config.js';
import { ArchiveSources } from '../../../src/archive/copies/sources.js';
import { uploadPending } from '../../../src/archive/copies/upload.js';
import { createDB } from '../../../src/db.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-prune-');

describe('pruning', () => {
  it('keepLocal: older local copies go once the remote has them, the archives stay restorable from it', async () => {
    const r = await root();
    const dir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { keepLocal: 2, compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }] };
    const db = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false, archive } });
    const ids: string[] = [];
    try {
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 20; i++) await db.set(`R${round}_${i}`, { round, i });
        const a = await db.archive.create({ ...(round === 0 ? { retention: 'permanent' as const } : {}) });
        ids.push(a.archiveId);
        if (round >= 3) expect(a.prune && 'removed' in a.prune ? a.prune.removed.map((x) => [x.archiveId, x.source, x.reason]) : a.prune).toEqual([[ids[round - 2], 'local', 'beyond-keep-local']]);
      }
      const local = fs.readdirSync(path.join(dir, 'archives')).filter((n) => n.endsWith('.bri')).sort();
      // The permanent first archive keeps its local copy; the two newest keep theirs.
      expect(local).toEqual([ids[0], ids[3], ids[4]].map((id) => `${id}.bri`));
      const list = await db.archive.list();
      expect(list.map((a) => a.manifest.archiveId)).toEqual(ids);
      expect(list[1]!.copies.map((c) => c.source)).toEqual(['nas']);
      const expected = toPlainState(db.state);
      await db.close();
      const target = path.join(r, 'restored');
      await openRestore({ dataDir: target, config: { remotes: archive.remotes } }).from(ids[1]!);
      expect(Object.keys(toPlainState((await recover(target)).state).documents)).toHaveLength(40);
      const latest = path.join(r, 'latest');
      await openRestore({ dataDir: dir, config: { remotes: archive.remotes } }).fromLatest({ targetDir: latest });
      expect(toPlainState((await recover(latest)).state)).toEqual(expected);
    } finally {
      if (!db.isClosed) await db.close();
    }
  });

  it('keepLocal: a local copy stays when the copy on the local remote rotted since its upload (same size, other bytes); it goes once that copy is whole again', async () => {
    const r = await root();
    const dir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { keepLocal: 1, compression: { level: 1 }, remotes: [{ provider: 'local' as const, name: 'nas', path: nas }] };
    // Two archives made with no retention; then the first's copy on nas rots. A prune alone decides (a create's upload
    // pass would first send the rotted copy again: test/remote/upload-after-create-lists.test.ts).
    const db = await createDB({ storeConfig: { dataDir: dir, archive: { ...archive, keepLocal: undefined } } });
    let first: Awaited<ReturnType<typeof db.archive.create>>;
    try {
      for (let i = 0; i < 30; i++) await db.set(`A_${i}`, { i, pad: 'x'.repeat(40) });
      first = await db.archive.create();
      for (let i = 0; i < 30; i++) await db.set(`B_${i}`, { i });
      await db.archive.create();
    } finally {
      await db.close();
    }
    const remoteFile = path.join(nas, 'archives', `${first.archiveId}.bri`);
    const good = await fsp.readFile(remoteFile);
    const rotten = Buffer.from(good);
    for (let at = 5 * 512; at < 9 * 512; at++) rotten[at] = rotten[at]! ^ 0x5a;
    await fsp.writeFile(remoteFile, rotten);
    const { ArchiveApi, offlineHost } = await import('../../../src/archive/archive-api.js');
    const api = () => new ArchiveApi(offlineHost(dir, undefined), archive);
    // The only whole copy of the first archive is the local one: it stays.
    expect((await api().prune()).removed).toEqual([]);
    expect(fs.existsSync(first.file)).toBe(true);
    // The remote copy mended by hand: written after its upload was confirmed, its record no longer vouches for it (as
    // `archive list` says), so the local copy stays until `archive upload` confirms that copy again; then it goes.
    await fsp.writeFile(remoteFile, good);
    expect((await api().prune({ dryRun: true })).kept).toContainEqual({ archiveId: first.archiveId, source: 'local', reason: 'not-on-every-remote', lacking: ['nas'] });
    await api().upload();
    const pruned = await api().prune();
    expect(pruned.removed.map((d) => [d.archiveId, d.source])).toEqual([[first.archiveId, 'local']]);
    expect(fs.existsSync(first.file)).toBe(false);
    const out = path.join(r, 'out');
    await openRestore({ dataDir: dir, config: { remotes: archive.remotes } }).fromLatest({ targetDir: out });
    expect((await recover(out)).state.documents.size).toBe(60);
  });

  it('without a remote, keepLocal never removes the only copy', async () => {
    const dir = path.join(await root(), 'data');
    const db = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false, archive: { keepLocal: 1, compression: { level: 1 } } } });
    try {
      for (let round = 0; round < 3; round++) {
        await db.set(`K${round}`, { round });
        const a = await db.archive.create();
        expect(a.prune && 'removed' in a.prune ? a.prune.removed : a.prune).toEqual([]);
      }
      expect(await db.archive.list()).toHaveLength(3);
    } finally {
      await db.close();
    }
  });

  it('bri archive prune: retentionDays, a dated archive, a permanent one and the newest; --dry-run first', async () => {
    const r = await root();
    const dir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir: dir, snapshotOnClose: false } });
    const ids: string[] = [];
    for (let round = 0; round < 4; round++) {
      await db.set(`K${round}`, { round });
      const retention = round === 0 ? ('permanent' as const) : round === 1 ? new Date(Date.now() + 365 * 86_400_000) : undefined;
      ids.push((await db.archive.create({ level: 1, ...(retention ? { retention } : {}) })).archiveId);
    }
    await db.close();
    // Pretend the archives are 10 days old: prune with a clock 10 days on, through the API.
    const later = new Date(Date.now() + 10 * 86_400_000);
    const api = (await import('../../../src/archive/archive-api.js')).ArchiveApi;
    const { offlineHost } = await import('../../../src/archive/archive-api.js');
    const dry = await new api(offlineHost(dir, undefined), { retentionDays: 7 }).prune({ dryRun: true, now: later });
    expect(dry.removed.map((d) => [d.archiveId, d.reason])).toEqual([[ids[2], 'expired']]);
    expect(fs.existsSync(path.join(dir, 'archives', `${ids[2]}.bri`))).toBe(true);
    // Today nothing is older than 7 days: the CLI's dry run removes nothing, and says so as JSON.
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ retentionDays: 7 }));
    const cliDry = await runCli(['archive', 'prune', '-d', dir, '--config', cfg, '--dry-run', '--json']);
    expect(cliDry.code, cliDry.stderr).toBe(0);
    expect((JSON.parse(cliDry.stdout) as { removed: unknown[]; dryRun: boolean }).removed).toEqual([]);
    const real = await new api(offlineHost(dir, undefined), { retentionDays: 7 }).prune({ now: later });
    expect(real.removed.map((d) => d.archiveId)).toEqual([ids[2]]);
    expect(fs.readdirSync(path.join(dir, 'archives')).filter((n) => n.endsWith('.bri')).sort()).toEqual([ids[0], ids[1], ids[3]].map((id) => `${id}.bri`));
  });
});

describe('two databases on one remote location', () => {
  // Found by an exploration of shared buckets: a clone given the production database's remote (same
  // prefix) and a shorter retention pruned production's archives there, the only copies of their lines.
  it("one database's prune never decides on another's archives there, while the other's own prune still decides on them", async () => {
    const r = await root();
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local', name: 'nas', path: nas }];
    const prodDir = path.join(r, 'prod');
    const prod = await createDB({ storeConfig: { dataDir: prodDir, snapshotOnClose: false, archive: { keepLocal: 0, retentionDays: 90, remotes, compression: { level: 1 } } } });
    const prodIds: string[] = [];
    for (let round = 0; round < 3; round++) {
      await prod.set(`P${round}`, { round });
      prodIds.push((await prod.archive.create()).archiveId);
    }
    await prod.close();
    // A second database (a clone of production, so its lineage too) on the same remote, with a week of retention.
    const otherDir = path.join(r, 'other');
    await openRestore({ dataDir: prodDir, config: { remotes } }).clone({ targetDir: otherDir });
    const other = await createDB({ storeConfig: { dataDir: otherDir, snapshotOnClose: false, archive: { retentionDays: 7, remotes, compression: { level: 1 } } } });
    const otherIds: string[] = [];
    for (let round = 0; round < 2; round++) {
      await other.set(`O${round}`, { round });
      otherIds.push((await other.archive.create()).archiveId);
    }
    await other.close();
    const { ArchiveApi, offlineHost } = await import('../../../src/archive/archive-api.js');
    const later = new Date(Date.now() + 10 * 86_400_000);
    const report = await new ArchiveApi(offlineHost(otherDir, undefined), { retentionDays: 7, remotes }).prune({ now: later });
    // Its own older archive expired on both its copies; production's archives were not its to decide on.
    expect(report.removed.map((d) => [d.archiveId, d.source]).sort()).toEqual([[otherIds[0], 'local'], [otherIds[0], 'nas']].sort());
    expect(report.kept.filter((d) => d.reason === 'other-database').map((d) => d.archiveId).sort()).toEqual([...prodIds].sort());
    for (const id of prodIds) expect(fs.existsSync(path.join(nas, 'archives', `${id}.bri`)), id).toBe(true);
    // Production's own prune, with its own policy, still decides on them (nothing is 90 days old).
    const own = await new ArchiveApi(offlineHost(prodDir, undefined), { keepLocal: 0, retentionDays: 90, remotes }).prune({ now: later });
    expect(own.removed).toEqual([]);
    expect(own.kept.filter((d) => d.reason === 'other-database').map((d) => d.archiveId)).toEqual(expect.arrayContaining([otherIds[1]]));
  });
});

describe('a remote with its own retentionDays', () => {
  it('is not sent archives past its days again (its prune just removed them), except an instance\'s newest, which is never pruned', async () => {
    const r = await root();
    const dir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const db = await createDB({ storeConfig: { dataDir: dir, archive: { compression: { level: 1 } } } });
    await db.set('A', { v: 1 });
    const older = await db.archive.create();
    await db.set('B', { v: 2 });
    const newest = await db.archive.create();
    await db.close();
    const config = parseArchiveConfig({ remotes: [{ provider: 'local', name: 'nas', path: nas, retentionDays: 2 }] });
    const sources = new ArchiveSources(config.remotes, config.restoreSources);
    const aged = (m: typeof older.manifest) => ({ ...m, timeRange: { ...m.timeRange, sealedAt: new Date(Date.now() - 10 * 86_400_000) } });
    try {
      const sent = await uploadPending([{ file: older.file, manifest: aged(older.manifest) }, { file: newest.file, manifest: aged(newest.manifest) }], sources, path.join(dir, 'archives'));
      expect(sent.map((s) => [s.archiveId, s.outcome])).toEqual([[newest.archiveId, 'uploaded']]);
      // Within its days, an archive goes there as usual.
      const fresh = await uploadPending([{ file: older.file, manifest: older.manifest }], sources, path.join(dir, 'archives'));
      expect(fresh.map((s) => [s.archiveId, s.outcome])).toEqual([[older.archiveId, 'uploaded']]);
    } finally {
      await sources.close();
    }
  });
});
