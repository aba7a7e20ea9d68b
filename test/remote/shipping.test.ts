/**
 * Continuous WAL shipping against a local directory and s3rver: a writer
 * SIGKILLed and its data directory deleted restores from the remote alone to
 * within the loss window; repeated kills never leave a gap or a duplicate
 * line on the remote; a remote that is down lets writes go on, reports the
 * lag and catches up; a point in time between the last archive and the last
 * shipment restores exactly the raw WAL's state at that time.
 */
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { ArchiveSources } from '../../src/archive/copies/sources.js';
import { decodeShipment } from '../../src/archive/shipping/shipment.js';
import { listShipments } from '../../src/archive/shipping/shipped-catalog.js';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import type { RemoteConfig } from '../../src/remote/registry.js';
import { recover } from '../../src/store/recovery.js';
import { collectLines, prng, spawnTs, waitExit } from '../support/child.js';
import { startFaultProxy, s3ErrorBody } from '../support/servers/fault-proxy.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../support/servers/s3rver.js';
import { useTempDirs } from '../support/temp-dirs.js';

const BUCKET = 'bri-ship';
const INTERVAL = 200;
const CHILD = path.join(import.meta.dirname, 'children', 'shipping-writer.ts');
const tempDir = useTempDirs('bri-ship-');
let s3: S3rverServer;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await s3?.dispose();
});

function s3Config(prefix: string, endpoint = s3.endpoint): RemoteConfig {
  return { provider: 's3', name: 's3', bucket: BUCKET, prefix, endpoint, region: 'us-east-1', credentials: { ...S3RVER_CREDENTIALS }, sdkMaxAttempts: 1, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 } };
}

async function remotesFor(root: string): Promise<RemoteConfig[]> {
  const nas = path.join(root, 'nas');
  await fsp.mkdir(nas, { recursive: true });
  return [{ provider: 'local', name: 'nas', path: nas }, s3Config(`ship-${randomBytes(4).toString('hex')}`)];
}

interface ChildRun {
  acks: Map<string, number>;
  shipped: Array<{ source: string; first: number; last: number; at: number }>;
  failures: string[];
  killedAt: number;
}

/** Runs the writer until `ms` after READY, then SIGKILLs it. */
async function runWriter(dataDir: string, remotes: RemoteConfig[], run: number, ms: number, archiveFirst: boolean): Promise<ChildRun> {
  const child = spawnTs(CHILD, [dataDir, JSON.stringify(remotes), String(INTERVAL), String(run), archiveFirst ? '1' : '0']);
  children.add(child);
  const out: ChildRun = { acks: new Map(), shipped: [], failures: [], killedAt: 0 };
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  collectLines(child, (line) => {
    const [w, a, b, c, d] = line.split(' ');
    if (w === 'READY') {
      setTimeout(() => {
        out.killedAt = Date.now();
        child.kill('SIGKILL');
      }, ms);
    } else if (w === 'ACK') out.acks.set(a!, Number(b));
    else if (w === 'SHIPPED') out.shipped.push({ source: a!, first: Number(b), last: Number(c), at: Number(d) });
    else if (w === 'SHIPFAIL') out.failures.push(line);
  });
  const exit = await waitExit(child);
  children.delete(child);
  if (exit.signal !== 'SIGKILL') throw new Error(`writer exited ${exit.code}: ${stderr}`);
  return out;
}

/** Every shipment of the instance on a remote, in order: contiguous, no overlap, each chaining from the one before. */
async function checkRemoteChain(remote: RemoteConfig, instanceId: string, fromLine: number): Promise<number> {
  const sources = new ArchiveSources([remote]);
  try {
    const r = sources.remotes[0]!;
    const refs = (await listShipments(r)).get(instanceId) ?? [];
    let through = fromLine;
    let pointer: string | null = null;
    for (const ref of refs) {
      // A shipment an archive holds whole may still be there (shipped while the archive was made; the next archive absorbs it).
      if (pointer === null && ref.lastLine <= fromLine) continue;
      expect(ref.firstLine, `${ref.key} after line ${through}`).toBe(through + 1);
      const s = await decodeShipment(await r.store.get(ref.key), ref);
      if (pointer !== null) expect(s.header.prevPointer).toBe(pointer);
      pointer = s.header.lastPointer;
      through = ref.lastLine;
    }
    return through;
  } finally {
    await sources.close();
  }
}

describe('continuous shipping', () => {
  it('after a SIGKILL and the loss of the data directory, the remote alone restores every write older than the loss window', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const remotes = await remotesFor(root);
    const run = await runWriter(dataDir, remotes, 0, 3000, true);
    expect(run.shipped.length).toBeGreaterThan(5);
    await fsp.rm(dataDir, { recursive: true, force: true });
    const target = path.join(root, 'restored');
    const r = await openRestore({ dataDir: target, config: { remotes: [remotes[1]!] } }).fromLatest();
    expect(r.source).toBe('s3');
    expect(r.shipped?.lines).toBeGreaterThan(0);
    const state = toPlainState((await recover(target)).state);
    // Every write acknowledged more than intervalMs + one shipment (bounded here by 1.5 s on a busy machine) before the kill is there.
    const lost = [...run.acks].filter(([k]) => state.documents[k] === undefined);
    const oldestLost = Math.min(...lost.map(([, t]) => t));
    const window = lost.length ? run.killedAt - oldestLost : 0;
    for (const [k, t] of run.acks) if (t < run.killedAt - (INTERVAL + 1500)) expect(state.documents[k], `${k} acked ${run.killedAt - t} ms before the kill`).toBeDefined();
    expect(window).toBeLessThan(INTERVAL + 1500);
    console.log(`loss window: ${window} ms (${lost.length} of ${run.acks.size} acknowledged writes not shipped at the kill; interval ${INTERVAL} ms)`);
    // The restored instance goes on and ships from where the remote is.
    const db = await createDB({ storeConfig: { dataDir: target, snapshotOnClose: false, archive: { remotes: [remotes[1]!], continuous: { enabled: true, intervalMs: INTERVAL } } } });
    try {
      await db.set('AFTER_RESTORE', { ok: true });
      await db.archive.flushShipping();
      expect(db.archive.shippingStatus()[0]).toMatchObject({ lagLines: 0, lastError: null });
    } finally {
      await db.close();
    }
  }, 120_000);

  it('20 kills and restarts during shipping leave no gap and no duplicate line on either remote', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const remotes = await remotesFor(root);
    const rand = prng(Number(process.env.SHIP_SEED ?? 4711));
    const acks = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const run = await runWriter(dataDir, remotes, i, 200 + Math.floor(rand() * 900), i === 0);
      for (const [k, t] of run.acks) acks.set(k, t);
    }
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes, continuous: { enabled: true, intervalMs: INTERVAL } } } });
    let instanceId: string;
    let end: number;
    try {
      await db.archive.flushShipping();
      instanceId = (await db.archive.list())[0]!.manifest.instanceId;
      end = db.info().totalLines;
      for (const s of db.archive.shippingStatus()) expect(s).toMatchObject({ shippedThrough: end, lagLines: 0 });
    } finally {
      await db.close();
    }
    const archiveEnd = (await openRestore({ dataDir }).list()).archives[0]!.manifest.timeRange.walLines.end;
    for (const remote of remotes) expect(await checkRemoteChain(remote, instanceId, archiveEnd)).toBe(end);
    // And the remote restores every acknowledged write.
    const target = path.join(root, 'restored');
    await openRestore({ dataDir: target, config: { remotes: [remotes[0]!] } }).fromLatest();
    const state = toPlainState((await recover(target)).state);
    for (const k of acks.keys()) expect(state.documents[k], k).toBeDefined();
  }, 240_000);

  it('a remote that is down: writes go on, the lag grows and is reported, shipping catches up when it returns', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const proxy = await startFaultProxy(s3.port);
    let down = false;
    proxy.setPlan(() => (down ? { kind: 'status', status: 503, body: s3ErrorBody('SlowDown') } : { kind: 'pass' }));
    const remote = s3Config(`down-${randomBytes(3).toString('hex')}`, `http://127.0.0.1:${proxy.port}`);
    const failures: string[] = [];
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: { remotes: [remote], continuous: { enabled: true, intervalMs: 50 } } } });
    try {
      await db.set('FIRST', { n: 0 });
      await db.archive.create({ level: 1 });
      db.archive.on('shipping', (e) => e.kind === 'ship-failed' && failures.push(e.error.message));
      down = true;
      const t0 = Date.now();
      for (let i = 0; i < 300; i++) await db.set(`D_${i}`, { i });
      expect(Date.now() - t0).toBeLessThan(20_000); // writes never waited for the network
      await new Promise((r) => setTimeout(r, 400));
      const lagging = db.archive.shippingStatus()[0]!;
      expect(lagging.lagLines).toBeGreaterThanOrEqual(300);
      expect(lagging.lagMs).toBeGreaterThan(0);
      expect(lagging.lastError).toBeTruthy();
      expect(failures.length).toBeGreaterThan(0);
      // A flush while it is down is not a flush: it says which remote is behind, and why.
      await expect(db.archive.flushShipping()).rejects.toMatchObject({ code: 'REMOTE_ERROR', message: expect.stringMatching(/s3 is \d+ lines behind/) });
      down = false;
      await db.archive.flushShipping();
      expect(db.archive.shippingStatus()[0]).toMatchObject({ lagLines: 0, lastError: null });
      const expected = toPlainState(db.state);
      await db.close();
      const target = path.join(root, 'restored');
      const r = await openRestore({ dataDir: target, config: { remotes: [s3Config(remote.prefix!)] } }).fromLatest();
      expect(r.shipped?.lines).toBe(300);
      expect(toPlainState((await recover(target)).state)).toEqual(expected);
    } finally {
      if (!db.isClosed) await db.close();
      await proxy.close();
    }
  }, 120_000);

  it('a point in time between the last archive and the last shipment restores exactly what the raw WAL gives', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const remotes = await remotesFor(root);
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 4096, archive: { remotes, continuous: { enabled: true, intervalMs: 100 } } } });
    const stamps: number[] = [];
    try {
      for (let i = 0; i < 50; i++) await db.set(`A_${i}`, { i });
      await db.archive.create({ level: 1 });
      for (let i = 0; i < 200; i++) {
        await db.set(`B_${i % 37}`, { i });
        if (i % 9 === 0) await db.sAdd('SET', `m${i % 5}`);
        if (i % 13 === 0) await db.delete(`B_${(i + 3) % 37}`);
        if (i % 40 === 20) {
          const t = Date.now();
          stamps.push(t);
          while (Date.now() <= t) await new Promise((r) => setTimeout(r, 1));
        }
      }
      await db.archive.flushShipping();
    } finally {
      await db.close();
    }
    const listing = await openRestore({ dataDir, config: { remotes } }).list();
    expect(listing.shipped.map((s) => s.source).sort()).toEqual(['nas', 's3']);
    // The plan (what `bri restore info` and a dry run show) takes the shipped WAL too.
    const planner = openRestore({ dataDir, config: { remotes } });
    const total = (await recover(dataDir)).totalLines;
    expect((await planner.plan({ kind: 'latest' })).shipped?.throughLine).toBe(total);
    const pitrPlan = await planner.plan({ kind: 'timestamp', timestamp: stamps[stamps.length - 1]! });
    expect(pitrPlan.untilTimestamp).toBe(stamps[stamps.length - 1]);
    expect(pitrPlan.shipped?.afterLine).toBe(pitrPlan.archive!.manifest.timeRange.walLines.end);
    // A dry run says how far the restore will go, shipped WAL included, and writes nothing.
    const dry = await openRestore({ dataDir: path.join(root, 'dry'), config: { remotes } }).fromLatest({ dryRun: true });
    expect(dry.lastLine).toBe(total);
    expect(dry.shipped?.lines).toBe(total - dry.plan.archive!.manifest.timeRange.walLines.end);
    expect(fs.existsSync(path.join(root, 'dry'))).toBe(false);
    for (const [i, t] of stamps.entries()) {
      const expected = toPlainState((await recover(dataDir, { untilTimestamp: t })).state);
      const target = path.join(root, `pitr-${i}`);
      const r = await openRestore({ dataDir: target, config: { remotes: [remotes[i % 2]!] } }).toTimestamp(t);
      expect(r.shipped?.stoppedByTime).toBe(true);
      const reopened = await recover(target);
      expect(toPlainState(reopened.state), `instant ${i}`).toEqual(expected);
      // The shipped lines were replayed too: the counts are the state's, and the first open replays nothing.
      expect(r.documents, `instant ${i}`).toBe(Object.keys(expected.documents).length);
      expect(r.collections, `instant ${i}`).toBe(Object.keys(expected.collections).length);
      expect(reopened.snapshot?.walLine, `instant ${i}`).toBe(reopened.totalLines);
      expect(reopened.replayed, `instant ${i}`).toBe(0);
    }
    // A clone takes the shipped WAL too, under a new instance id.
    const clone = path.join(root, 'clone');
    const c = await openRestore({ dataDir: path.join(root, 'elsewhere'), config: { remotes: [remotes[1]!] } }).clone({ targetDir: clone });
    expect(c.shipped?.lines).toBeGreaterThan(0);
    expect(c.instanceId).not.toBe(c.plan.instanceId);
    const cloned = await recover(clone);
    expect(toPlainState(cloned.state)).toEqual(toPlainState((await recover(dataDir)).state));
    expect(c.documents).toBe(cloned.state.documents.size);
    expect(cloned.replayed).toBe(0);
    // Past the last shipped line there is nothing to restore from.
    await expect(openRestore({ dataDir: path.join(root, 'late'), config: { remotes } }).toTimestamp(Date.now() + 60_000)).rejects.toMatchObject({ code: 'TIMESTAMP_NOT_FOUND' });
  }, 120_000);
});

describe('shipped WAL that is damaged or missing', () => {
  async function shippedHistory() {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const remotes = await remotesFor(root);
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 2048, archive: { remotes, continuous: { enabled: true, intervalMs: 20 } } } });
    try {
      await db.set('BASE', { b: 1 });
      await db.archive.create({ level: 1 });
      for (let i = 0; i < 120; i++) await db.set(`S_${i}`, { i, pad: 'y'.repeat(40) });
      await db.archive.flushShipping();
      const cfg = path.join(root, 'cfg.json');
      await fsp.writeFile(cfg, JSON.stringify({ remotes }));
      return { root, dataDir, remotes, cfg, instanceId: (await db.archive.list())[0]!.manifest.instanceId, metrics: db.archive.metrics() };
    } finally {
      await db.close();
    }
  }

  it('a damaged shipment in the middle: the restore stops at the last good line before it and says which range', async () => {
    const h = await shippedHistory();
    expect(h.metrics).toMatch(/bri_shipping_lag_lines\{source="nas"\} 0/);
    const sources = new ArchiveSources([h.remotes[0]!]);
    const refs = (await listShipments(sources.remotes[0]!)).get(h.instanceId)!;
    await sources.close();
    expect(refs.length).toBeGreaterThan(3);
    const victim = refs[Math.floor(refs.length / 2)]!;
    const file = path.join(h.root, 'nas', ...(h.remotes[0]!.prefix ? [h.remotes[0]!.prefix] : []), ...victim.key.split('/'));
    const bytes = await fsp.readFile(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    await fsp.writeFile(file, bytes);
    const problems: string[] = [];
    const target = path.join(h.root, 'restored');
    const r = await openRestore({ dataDir: target, config: { remotes: [h.remotes[0]!] } }).fromLatest({ onSourceProblem: (p) => problems.push(p.reason) });
    expect(r.shipped?.broken).toMatchObject({ fromLine: victim.firstLine, toLine: victim.lastLine });
    expect(r.shipped?.throughLine).toBe(victim.firstLine - 1);
    expect(problems.join('\n')).toContain(`shipped WAL lines ${victim.firstLine}..${victim.lastLine}`);
    const expected = toPlainState((await recover(h.dataDir, { untilLine: victim.firstLine - 1 })).state);
    expect(toPlainState((await recover(target)).state)).toEqual(expected);
    // The other remote is whole: with both, the damaged shipment's lines are taken from it.
    const both = path.join(h.root, 'both');
    const r2 = await openRestore({ dataDir: both, config: { remotes: h.remotes } }).fromLatest();
    expect(r2.shipped?.broken).toBeNull();
    expect(r2.shipped?.replaced.map((x) => x.source)).toEqual(['nas']);
    expect(r2.shipped?.sources).toEqual(['nas', 's3']);
    expect(toPlainState((await recover(both)).state)).toEqual(toPlainState((await recover(h.dataDir)).state));
  }, 60_000);

  it('a missing shipment in the middle: stopped before it, reported; bri archive stats shows no lag', async () => {
    const h = await shippedHistory();
    const sources = new ArchiveSources([h.remotes[1]!]);
    const s3r = sources.remotes[0]!;
    const refs = (await listShipments(s3r)).get(h.instanceId)!;
    const victim = refs[1]!;
    const stats = await (await import('../support/cli.js')).runCli(['archive', 'stats', '-d', h.dataDir, '--config', h.cfg, '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    const shipping = (JSON.parse(stats.stdout) as { shipping: Array<{ source: string; lagLines: number; shippedThrough: number }> }).shipping;
    expect(shipping.map((s) => [s.source, s.lagLines])).toEqual([
      ['nas', 0],
      ['s3', 0],
    ]);
    await s3r.store.delete(victim.key);
    await sources.close();
    const target = path.join(h.root, 'restored');
    // Told otherwise, the restore fails and leaves nothing.
    await expect(openRestore({ dataDir: target, config: { remotes: [h.remotes[1]!] } }).fromLatest({ onBrokenShipment: 'fail' })).rejects.toMatchObject({ code: 'RESTORE_ERROR' });
    await expect(fsp.access(target)).rejects.toThrow();
    const r = await openRestore({ dataDir: target, config: { remotes: [h.remotes[1]!] } }).fromLatest();
    expect(r.shipped?.throughLine).toBe(victim.firstLine - 1);
    expect(r.shipped?.broken).toMatchObject({ fromLine: victim.firstLine });
    // The lines past the break are still shipped under the old instance: the restored directory is a new one.
    expect(r.instanceId).not.toBe(h.instanceId);
    const list = await (await import('../support/cli.js')).runCli(['restore', 'list', '-d', h.dataDir, '--config', h.cfg]);
    expect(list.stdout).toMatch(/s3: .*shipped WAL to .*missing from line \d+/);
    expect(list.stdout).toMatch(/nas: .*shipped WAL to .*\(line \d+\)/);
  }, 60_000);
});

describe('WAL cleanup with shipping', () => {
  /** A shipping database: BASE archived, then 20 lines shipped to both remotes. */
  async function shippedPastArchive() {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const remotes = await remotesFor(root);
    const archive = { remotes, cleanupWal: true, continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 } };
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 600, archive } });
    await db.set('BASE', { b: 1 });
    const first = await db.archive.create();
    const older = path.join(root, 'older');
    await fsp.cp(dataDir, older, { recursive: true, filter: (src) => !src.endsWith('bri.lock') });
    for (let i = 0; i < 20; i++) await db.set(`OLD_${i}`, { i });
    await db.archive.flushShipping();
    await db.close();
    return { root, dataDir, remotes, archive, first, older };
  }

  /** Writes `n` new lines with shipping on, then a cleanup: the new lines must all still be there. */
  async function writeAndClean(dataDir: string, archive: object, n: number) {
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 600, archive } });
    try {
      for (let i = 0; i < n; i++) await db.set(`NEW_${i}`, { i, pad: 'n'.repeat(30) });
      await db.archive.flushShipping().catch(() => undefined);
      const cleaned = await db.archive.cleanupWal();
      return { cleaned, status: db.archive.shippingStatus(), state: toPlainState(db.state) };
    } finally {
      // A remote the lines could not reach makes close reject (REMOTE_ERROR): the callers check the status themselves.
      await db.close().catch((e: { code?: string }) => {
        if (e.code !== 'REMOTE_ERROR') throw e;
      });
    }
  }

  it('an in-place restore of the newest archive while shipped WAL reaches past it starts a new instance: new lines are shipped under it, never taken for the old shipments', async () => {
    const h = await shippedPastArchive();
    const r = await openRestore({ dataDir: h.dataDir, config: { remotes: h.remotes } }).from(h.first.archiveId, { force: true });
    expect(r.instanceId).not.toBe(h.first.manifest.instanceId);
    const { state } = await writeAndClean(h.dataDir, h.archive, 12);
    const reopened = toPlainState((await recover(h.dataDir)).state);
    expect(reopened).toEqual(state);
    expect(Object.keys(reopened.documents).filter((k) => k.startsWith('NEW_'))).toHaveLength(12);
    // S3 alone brings the new instance back with every new line (its first archive and what was shipped after it).
    const target = path.join(h.root, 'from-s3');
    const back = await openRestore({ dataDir: target, config: { remotes: [h.remotes[1]!] } }).fromLatest({ instanceId: r.instanceId! });
    expect(back.instanceId).toBe(r.instanceId);
    expect(toPlainState((await recover(target)).state)).toEqual(reopened);
  }, 60_000);

  it('a remote re-pointed under the same name is not taken to hold the archive its old place holds: a first archive goes there, then the shipments, and it restores alone', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const [oldPlace, newPlace] = [path.join(root, 'nas-old'), path.join(root, 'nas-new')];
    for (const d of [oldPlace, newPlace]) await fsp.mkdir(d);
    const archiveFor = (p: string) => ({ remotes: [{ provider: 'local' as const, name: 'nas', path: p }], continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 } });
    let db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: archiveFor(oldPlace) } });
    await db.set('BASE', { b: 1 });
    await db.archive.create();
    await db.close();
    db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive: archiveFor(newPlace) } });
    try {
      for (let i = 0; i < 10; i++) await db.set(`N_${i}`, { i });
      await db.archive.idle();
      await db.archive.flushShipping();
      const expected = toPlainState(db.state);
      await db.close();
      const target = path.join(root, 'restored');
      await openRestore({ dataDir: target, config: { remotes: archiveFor(newPlace).remotes } }).fromLatest();
      expect(toPlainState((await recover(target)).state)).toEqual(expected);
    } finally {
      if (!db.isClosed) await db.close();
    }
  }, 60_000);

  it('a directory put back under the same instance, behind what was shipped: the shipper says so and WAL cleanup removes none of its new lines', async () => {
    const h = await shippedPastArchive();
    for (const n of ['wal', 'snapshot.jss']) {
      await fsp.rm(path.join(h.dataDir, n), { recursive: true, force: true });
      if (fs.existsSync(path.join(h.older, n))) await fsp.cp(path.join(h.older, n), path.join(h.dataDir, n), { recursive: true });
    }
    const { cleaned, status, state } = await writeAndClean(h.dataDir, h.archive, 8);
    // Only what the archive holds may go: none of the lines written since the put-back.
    expect(cleaned.safeLine).toBe(h.first.manifest.timeRange.walLines.end);
    expect(status.map((s) => s.lastError)).toEqual([expect.stringMatching(/history left what was shipped/), expect.stringMatching(/history left what was shipped/)]);
    expect(toPlainState((await recover(h.dataDir)).state)).toEqual(state);
  }, 60_000);

  it('counts lines shipped to every remote as safe, and the next archive fetches them back', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'data');
    const remotes = await remotesFor(root);
    const archive = { remotes, cleanupWal: true, continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 } };
    let db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 2048, archive } });
    let first;
    try {
      await db.set('BASE', { b: 1 });
      first = await db.archive.create();
      for (let i = 0; i < 150; i++) await db.set(`C_${i}`, { i, pad: 'c'.repeat(30) });
      await db.archive.flushShipping();
      const c = await db.archive.cleanupWal();
      // Beyond the archive: the lines shipped to both remotes left wal/ too.
      expect(c.safeLine).toBeGreaterThan(first.manifest.timeRange.walLines.end);
      expect(c.lines).toBeGreaterThan(100);
      for (let i = 0; i < 40; i++) await db.set(`D_${i}`, { i });
      const second = await db.archive.create();
      const scanned = await (await import('../../src/archive/copies/local-catalog.js')).scanArchiveDir(path.join(dataDir, 'archives'));
      expect(scanned.unreadable.map((u) => u.error.message)).toEqual([]);
      expect(second.uploads.filter((u) => u.archiveId === second.archiveId).map((u) => u.outcome), JSON.stringify(second.uploads.map((u) => u.error?.message))).toEqual(['uploaded', 'uploaded']);
      expect(second.manifest.timeRange.walLines.start).toBe(first.manifest.timeRange.walLines.end);
      expect(second.manifest.chain.prevPointer).toBe(first.manifest.chain.lastPointer);
      expect(second.manifest.contents.totalWalEntries).toBe(190);
      await db.set('AFTER', { a: 1 });
      await db.archive.flushShipping();
      const expected = toPlainState(db.state);
      await db.close();
      db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, archive } });
      expect(toPlainState(db.state)).toEqual(expected);
      await db.close();
      // From S3 alone: the second archive plus the shipped line after it.
      const target = path.join(root, 'restored');
      const r = await openRestore({ dataDir: target, config: { remotes: [remotes[1]!] } }).fromLatest();
      expect(r.plan.archive!.manifest.archiveId).toBe(second.archiveId);
      expect(r.shipped?.lines).toBe(1);
      expect(toPlainState((await recover(target)).state)).toEqual(expected);
    } finally {
      if (!db.isClosed) await db.close();
    }
  }, 60_000);
});
