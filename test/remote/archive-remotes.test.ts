/**
 * End to end: archives go to a local directory and to S3, GCS and Azure (real
 * servers on 127.0.0.1); the listing merges every source; after the data
 * directory and its archives are gone, a restore from any one remote gives the
 * state back; restore falls back to the next source when a copy is damaged
 * beyond repair or a source is down, and says so.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/archive/package/progress.js';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { toPlainState, type PlainState } from '../../src/format/state.js';
import { createRemote } from '../../src/remote/registry.js';
import { recover } from '../../src/store/recovery.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { startAllRemotes, type AllRemotes } from '../support/servers/all-remotes.js';
import { AZURITE_KEY } from '../support/servers/azurite.js';

let remotes: AllRemotes;

beforeAll(async () => {
  remotes = await startAllRemotes();
}, 120_000);

afterAll(async () => {
  await remotes?.dispose();
});

const tempDir = useTempDirs('bri-e2e-');

interface History {
  root: string;
  dataDir: string;
  prefix: string;
  archiveIds: string[];
  /** State at the end of each archive, and the time just after it. */
  states: PlainState[];
  midTimes: number[];
}

/** A database archived twice to every remote; the data directory stays closed afterwards. */
async function archivedTwice(restoreSources?: string[]): Promise<History> {
  const root = await tempDir();
  const dataDir = path.join(root, 'data');
  const prefix = `e2e-${randomBytes(4).toString('hex')}`;
  const db = await createDB({
    storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 8192, archive: { remotes: remotes.configs(prefix), ...(restoreSources ? { restoreSources } : {}) } },
  });
  const archiveIds: string[] = [];
  const states: PlainState[] = [];
  const midTimes: number[] = [];
  try {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 120; i++) await db.set(`U_${round}_${i}`, { round, i, pad: 'x'.repeat(i % 40) });
      await db.sAdd('ROUNDS', String(round));
      if (round === 0) {
        await new Promise((r) => setTimeout(r, 5));
        midTimes.push(Date.now());
        await new Promise((r) => setTimeout(r, 5));
        states.push(toPlainState(db.state));
        await db.set('AFTER_MID', { v: 1 });
      }
      const uploadProgress: ProgressEvent[] = [];
      const created = await db.archive.create({ level: 3, onProgress: (e) => e.operation === 'upload' && uploadProgress.push(e) });
      archiveIds.push(created.archiveId);
      // One progress figure for the parallel uploads: every remote's bytes over all of them, ending complete.
      const last = uploadProgress[uploadProgress.length - 1]!;
      expect(last.totalBytes).toBe(4 * created.bytes);
      expect(last.doneBytes).toBe(last.totalBytes);
      expect(new Set(uploadProgress.map((e) => e.item!.split(' to ')[1])).size).toBe(4);
      expect(created.uploads.filter((u) => u.archiveId === created.archiveId).map((u) => [u.source, u.outcome]).sort()).toEqual([
        ['azure', 'uploaded'],
        ['gcs', 'uploaded'],
        ['nas', 'uploaded'],
        ['s3', 'uploaded'],
      ]);
      if (round === 1) states.push(toPlainState(db.state));
    }
  } finally {
    await db.close();
  }
  return { root, dataDir, prefix, archiveIds, states, midTimes };
}

async function stateOf(dir: string): Promise<PlainState> {
  return toPlainState((await recover(dir, {})).state);
}

describe('archives on every remote', () => {
  let h: History;

  beforeAll(async () => {
    h = await archivedTwice();
  }, 120_000);

  it('records one confirmed copy per remote, and lists every archive merged by id with each copy', async () => {
    const db = await createDB({ storeConfig: { dataDir: h.dataDir, snapshotOnClose: false, archive: { remotes: remotes.configs(h.prefix) } } });
    try {
      for (const id of h.archiveIds) {
        const copies = await db.archive.copies(id);
        expect(copies.map((c) => c.source).sort()).toEqual(['azure', 'gcs', 'nas', 's3']);
        const localSize = fs.statSync(path.join(h.dataDir, 'archives', `${id}.bri`)).size;
        for (const c of copies) expect(c.size).toBe(localSize);
        expect(await db.archive.isStoredEverywhere(id)).toBe(true);
      }
      const list = await db.archive.list();
      expect(list.map((a) => a.manifest.archiveId)).toEqual(h.archiveIds);
      for (const a of list) expect(a.copies.map((c) => c.source)).toEqual(['local', 'nas', 's3', 'gcs', 'azure']);
      const onlyGcs = await db.archive.list({ source: 'gcs' });
      expect(onlyGcs.map((a) => [a.manifest.archiveId, a.copies.map((c) => c.source), a.file])).toEqual(h.archiveIds.map((id) => [id, ['gcs'], null]));
    } finally {
      await db.close();
    }
  });

  it('reads manifests from the remotes themselves when this machine has no record of them', async () => {
    // A new machine: no archive directory, no copy records.
    const listing = await openRestore({ dataDir: path.join(await tempDir(), 'none'), config: { remotes: remotes.configs(h.prefix) } }).list();
    expect(listing.archives.map((a) => a.manifest.archiveId)).toEqual(h.archiveIds);
    for (const a of listing.archives) {
      expect(a.copies.map((c) => c.source)).toEqual(['nas', 's3', 'gcs', 'azure']);
      expect(a.copies.every((c) => !c.recorded)).toBe(true);
    }
    expect(listing.ranges).toHaveLength(1);
    expect(listing.unreachable).toEqual([]);
  });

  it.each(['nas', 's3', 'gcs', 'azure'])('after the data directory and its archives are deleted, %s alone restores the latest state and a point in time', async (source) => {
    const root = await tempDir();
    // Only that remote is configured: nothing else could have served the restore.
    const config = { remotes: remotes.configs(h.prefix).filter((c) => c.name === source) };
    const target = path.join(root, 'restored');
    const r = await openRestore({ dataDir: target, config }).fromLatest();
    expect(r.source).toBe(source);
    expect(r.skipped.map((s) => s.source)).toEqual(['local']);
    expect(await stateOf(target)).toEqual(h.states[1]);
    const pitr = path.join(root, 'pitr');
    const p = await openRestore({ dataDir: pitr, config }).toTimestamp(h.midTimes[0]!);
    expect(p.source).toBe(source);
    expect(await stateOf(pitr)).toEqual(h.states[0]);
  });

  it('bri archive list and bri restore list --source show the copies, as JSON and as a table', async () => {
    const root = await tempDir();
    const cfg = path.join(root, 'archive.json');
    await fsp.writeFile(cfg, JSON.stringify({ remotes: remotes.configs(h.prefix) }));
    const list = await runCli(['archive', 'list', '-d', h.dataDir, '--config', cfg, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const parsed = JSON.parse(list.stdout) as { archives: Array<{ copies: Array<{ source: string }> }>; unreachable: unknown[] };
    expect(parsed.archives.map((a) => a.copies.map((c) => c.source))).toEqual([
      ['local', 'nas', 's3', 'gcs', 'azure'],
      ['local', 'nas', 's3', 'gcs', 'azure'],
    ]);
    expect(parsed.unreachable).toEqual([]);
    // Credentials never appear in output.
    expect(list.stdout).not.toContain('"S3RVER"');
    expect(list.stdout + list.stderr).not.toContain(AZURITE_KEY.slice(0, 12));
    const table = await runCli(['restore', 'list', '-d', h.dataDir, '--config', cfg, '--source', 'azure']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/azure: .*archives .* \(lines 1\.\./);
    expect(table.stdout).not.toMatch(/^\s+local:/m);
    const unknown = await runCli(['restore', 'list', '-d', h.dataDir, '--config', cfg, '--source', 'ftp']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no source "ftp"');
  });

  it('download takes the first good copy in priority order, and delete removes one copy or all', async () => {
    const root = await tempDir();
    const db = await createDB({ storeConfig: { dataDir: h.dataDir, snapshotOnClose: false, archive: { remotes: remotes.configs(h.prefix), restoreSources: ['gcs', 'azure'] } } });
    try {
      const id = h.archiveIds[0]!;
      const out = path.join(root, 'copy.bri');
      const d = await db.archive.download(id, out);
      expect(d.source).toBe('gcs');
      expect(fs.readFileSync(out).equals(fs.readFileSync(path.join(h.dataDir, 'archives', `${id}.bri`)))).toBe(true);
      const del = await db.archive.delete(id, { source: 'azure' });
      expect(del.deleted.map((x) => x.source)).toEqual(['azure']);
      expect((await db.archive.copies(id)).map((c) => c.source).sort()).toEqual(['gcs', 'nas', 's3']);
      expect((await db.archive.get(id)).copies.map((c) => c.source)).toEqual(['local', 'nas', 's3', 'gcs']);
      expect(await db.archive.isStoredEverywhere(id)).toBe(false);
      // The next create puts the missing copy back.
      await db.set('MORE', { n: 1 });
      const next = await db.archive.create({ level: 3 });
      expect(next.uploads.filter((u) => u.archiveId === id).map((u) => [u.source, u.outcome])).toEqual([['azure', 'uploaded']]);
      expect(await db.archive.isStoredEverywhere(id)).toBe(true);
      h.archiveIds.push(next.archiveId);
      h.states[1] = toPlainState(db.state);
    } finally {
      await db.close();
    }
  });
});

describe('falling back to the next source', () => {
  it('a copy damaged beyond repair is passed over for the next source, and the restore says so', async () => {
    const h = await archivedTwice();
    const last = h.archiveIds[h.archiveIds.length - 1]!;
    // Ruin the NAS copy: far more than the 10% PAR2 can rebuild.
    const nasFile = path.join(remotes.dir, 'nas', h.prefix, 'archives', `${last}.bri`);
    const size = fs.statSync(nasFile).size;
    const fh = await fsp.open(nasFile, 'r+');
    await fh.write(Buffer.alloc(Math.floor(size * 0.6), 0x5a), 0, Math.floor(size * 0.6), Math.floor(size * 0.2));
    await fh.close();
    await fsp.rm(h.dataDir, { recursive: true });
    const target = path.join(h.root, 'restored');
    const problems: string[] = [];
    const r = await openRestore({ dataDir: target, config: { remotes: remotes.configs(h.prefix), restoreSources: ['nas', 's3'] } }).fromLatest({
      onSourceProblem: (p) => problems.push(`${p.source}: ${p.reason}`),
    });
    expect(r.source, JSON.stringify(r.skipped)).toBe('s3');
    expect(r.skipped, JSON.stringify(r.skipped)).toHaveLength(1);
    expect(r.skipped[0]).toMatchObject({ source: 'nas', code: 'ARCHIVE_CORRUPTED', reason: expect.stringContaining('beyond repair') });
    expect(problems).toEqual([expect.stringMatching(/^nas: .*damaged beyond repair/)]);
    expect(await stateOf(target)).toEqual(h.states[1]);
    // The CLI says so too, on stderr.
    const cfg = path.join(h.root, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ remotes: remotes.configs(h.prefix), restoreSources: ['nas', 'azure'] }));
    const cli = await runCli(['restore', 'latest', '-d', path.join(h.root, 'cli-target'), '--config', cfg]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toMatch(/nas: the copy is damaged beyond repair: .*; trying the next source/);
    expect(cli.stdout).toMatch(/copy on azure/);
  });

  it('a copy damaged within its redundancy is repaired and used', async () => {
    const h = await archivedTwice();
    const last = h.archiveIds[h.archiveIds.length - 1]!;
    const nasFile = path.join(remotes.dir, 'nas', h.prefix, 'archives', `${last}.bri`);
    const fh = await fsp.open(nasFile, 'r+');
    await fh.write(Buffer.alloc(200, 0xee), 0, 200, 3000);
    await fh.close();
    const target = path.join(h.root, 'restored');
    const r = await openRestore({ dataDir: target, config: { remotes: remotes.configs(h.prefix), restoreSources: ['nas', 's3'] } }).fromLatest();
    expect(r.source).toBe('nas');
    expect(r.repaired?.repairedBlocks).toBeGreaterThan(0);
    expect(await stateOf(target)).toEqual(h.states[1]);
  });

  it('a source that is down is passed over, with the reason', async () => {
    const h = await archivedTwice();
    // A GCS endpoint where nothing listens: the listing cannot reach it.
    const dead = remotes.configs(h.prefix, { gcs: 'http://127.0.0.1:9' });
    const target = path.join(h.root, 'restored');
    const r = await openRestore({ dataDir: target, config: { remotes: dead, restoreSources: ['gcs', 'azure'] } }).fromLatest();
    expect(r.source).toBe('azure');
    expect(r.skipped[0]).toMatchObject({ source: 'gcs', reason: expect.stringMatching(/^unreachable: /) });
    expect(await stateOf(target)).toEqual(h.states[1]);
  });

  it('a missing copy is passed over for the next source', async () => {
    const h = await archivedTwice();
    const last = h.archiveIds[h.archiveIds.length - 1]!;
    const s3 = createRemote(remotes.configs(h.prefix).find((c) => c.name === 's3'));
    await s3.delete(`archives/${last}.bri`);
    await s3.close();
    const target = path.join(h.root, 'restored');
    const r = await openRestore({ dataDir: target, config: { remotes: remotes.configs(h.prefix), restoreSources: ['s3', 'gcs'] } }).fromLatest();
    expect(r.source).toBe('gcs');
    expect(r.skipped).toEqual([{ source: 's3', reason: 'has no copy of this archive', code: 'ARCHIVE_NOT_FOUND' }]);
  });
});

describe('remote lifecycle', () => {
  it('glacierAfterDays becomes a transition rule on GCS (never an expiry), and a documented no-op elsewhere', async () => {
    const root = await tempDir();
    const prefix = `lc-${randomBytes(3).toString('hex')}`;
    const configs = remotes.configs(prefix).map((c) => ({ ...c, glacierAfterDays: 45 }));
    const events: Array<{ source: string; applied: boolean }> = [];
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false, archive: { remotes: configs } } });
    try {
      await db.set('A', { a: 1 });
      await db.archive.create({ level: 1, onUpload: (e) => e.kind === 'lifecycle' && events.push({ source: e.source, applied: e.applied }) });
      await db.set('B', { b: 1 });
      await db.archive.create({ level: 1, onUpload: (e) => e.kind === 'lifecycle' && events.push({ source: e.source, applied: e.applied }) });
    } finally {
      await db.close();
    }
    // Once per remote per process; GCS applies it, the local directory and Azure say why not.
    expect(events.filter((e) => e.source === 'gcs')).toEqual([{ source: 'gcs', applied: true }]);
    expect(events.find((e) => e.source === 'nas')?.applied).toBe(false);
    expect(events.find((e) => e.source === 'azure')?.applied).toBe(false);
    const res = await fetch(`${remotes.gcs.endpoint}/storage/v1/b/bri-e2e`);
    const bucket = (await res.json()) as { lifecycle?: { rule?: Array<{ action: { type: string }; condition: { age: number; matchesPrefix?: string[] } }> } };
    const ours = (bucket.lifecycle?.rule ?? []).filter((r) => r.condition.matchesPrefix?.[0]?.startsWith(prefix));
    expect(ours.map((r) => [r.action.type, r.condition.age])).toEqual([['SetStorageClass', 45]]);
  });
});

