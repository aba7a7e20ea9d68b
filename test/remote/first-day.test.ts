/**
 * The first day is protected too: with continuous shipping on and no archive
 * yet (a new database whose nightly schedule has not fired), the shipped WAL
 * restores on its own from the empty state; and a database whose WAL does not
 * start at line 1 (a clone) gets a first archive as soon as shipping starts,
 * so that its loss window is the same as after an archive.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRestore } from '../../src/archive/restore-api.js';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { runCli } from '../support/cli.js';
import { collectLines, spawnTs, waitExit } from '../support/child.js';
import { useTempDirs } from '../support/temp-dirs.js';

const INTERVAL = 150;
const CHILD = path.join(import.meta.dirname, 'children', 'shipping-writer.ts');
const tmp = useTempDirs('bri-first-day-');
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** Runs the shipping writer (no archive first) for `ms` after READY, then SIGKILLs it; the acknowledged writes and when. */
async function writeThenLose(dataDir: string, remotes: unknown[], ms: number): Promise<{ acks: Map<string, number>; killedAt: number; shipped: number }> {
  const child = spawnTs(CHILD, [dataDir, JSON.stringify(remotes), String(INTERVAL), '0', '0']);
  children.add(child);
  const acks = new Map<string, number>();
  let killedAt = 0;
  let shipped = 0;
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  collectLines(child, (line) => {
    const [w, a, b] = line.split(' ');
    if (w === 'READY')
      setTimeout(() => {
        killedAt = Date.now();
        child.kill('SIGKILL');
      }, ms);
    else if (w === 'ACK') acks.set(a!, Number(b));
    else if (w === 'SHIPPED') shipped++;
  });
  const exit = await waitExit(child);
  children.delete(child);
  if (exit.signal !== 'SIGKILL') throw new Error(`writer exited ${exit.code}: ${stderr}`);
  return { acks, killedAt, shipped };
}

describe('the first day', () => {
  it('no archive yet, the machine lost: the shipped WAL alone restores every write older than the loss window (API and CLI)', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local', name: 'nas', path: nas }];
    const run = await writeThenLose(dataDir, remotes, 1500);
    expect(run.shipped).toBeGreaterThan(2);
    await fsp.rm(dataDir, { recursive: true, force: true });
    expect(fs.existsSync(path.join(nas, 'archives'))).toBe(false);

    const config = path.join(root, 'config.json');
    await fsp.writeFile(config, JSON.stringify({ remotes }));
    const listed = await runCli(['restore', 'list', '-d', dataDir, '-c', config]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/nas: .*: no archive yet; shipped WAL .* \(lines 1\.\.\d+\)/);
    const dry = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/archive {6}none yet/);

    const target = path.join(root, 'restored');
    const cli = await runCli(['restore', 'latest', '-d', target, '-c', config]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/from the shipped WAL on nas \(no archive yet\)/);
    const state = toPlainState((await recover(target)).state);
    const lost = [...run.acks].filter(([k]) => state.documents[k] === undefined);
    for (const [k, t] of run.acks) if (t < run.killedAt - (INTERVAL + 1500)) expect(state.documents[k], `${k} acked ${run.killedAt - t} ms before the kill`).toBeDefined();
    console.log(`first day: ${run.acks.size - lost.length} of ${run.acks.size} acknowledged writes restored from shipped WAL alone`);
    expect(run.acks.size - lost.length).toBeGreaterThan(0);

    // A point in time inside the shipped WAL, through the API.
    const times = [...run.acks.values()].sort((x, y) => x - y);
    const mid = times[Math.floor(times.length / 3)]!;
    const pit = path.join(root, 'pit');
    const r = await openRestore({ dataDir: pit, config: { remotes } }).toTimestamp(mid, { targetDir: pit, instanceId: JSON.parse(fs.readFileSync(path.join(target, 'bri-archive.json'), 'utf8')).instanceId as string });
    expect(r.plan.archive).toBeNull();
    const at = toPlainState((await recover(pit)).state);
    for (const [k, t] of run.acks) expect(at.documents[k] !== undefined, `${k} acked at ${t}, restored to ${mid}`).toBe(t <= mid);

    // The restored directory is the same instance: it ships on, and its first archive starts at line 0.
    const db = await createDB({ storeConfig: { dataDir: target, archive: { remotes, continuous: { enabled: true, intervalMs: INTERVAL }, compression: { level: 1 } } } });
    try {
      await db.set('AFTER', { ok: true });
      await db.archive.flushShipping();
      const a = await db.archive.create();
      expect(a.manifest.timeRange.walLines.start).toBe(0);
      expect(a.manifest.chain.prevPointer).toBe('');
    } finally {
      await db.close();
    }
  }, 120_000);

  it('a clone with shipping on gets its first archive at once, so its shipped WAL continues an archive from the start', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const src = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 10; i++) await src.set(`A_${i}`, { i });
    await src.archive.create();
    for (let i = 0; i < 10; i++) await src.set(`B_${i}`, { i });
    const second = await src.archive.create();
    await src.close();
    const clone = path.join(root, 'clone');
    await openRestore({ dataDir }).clone({ archiveId: second.archiveId, targetDir: clone });
    const nas = path.join(root, 'nas');
    await fsp.mkdir(nas);
    const remotes = [{ provider: 'local', name: 'nas', path: nas }];
    const db = await createDB({ storeConfig: { dataDir: clone, archive: { remotes, continuous: { enabled: true, intervalMs: INTERVAL }, compression: { level: 1 } } } });
    const runs: string[] = [];
    db.archive.on('finished', (r) => runs.push(r.reason));
    let expected;
    try {
      for (let i = 0; i < 10; i++) await db.set(`C_${i}`, { i });
      await db.archive.idle();
      expect(runs).toEqual(['first-archive']);
      await db.archive.flushShipping();
      expect(db.archive.shippingStatus()[0]).toMatchObject({ lagLines: 0, state: 'idle' });
      expected = toPlainState(db.state);
    } finally {
      await db.close();
    }
    const target = path.join(root, 'restored');
    const r = await openRestore({ dataDir: target, config: { remotes } }).fromLatest();
    expect(r.plan.archive?.manifest.timeRange.walLines.start).toBe(second.manifest.timeRange.walLines.start);
    expect(toPlainState((await recover(target)).state)).toEqual(expected);
  }, 60_000);
});
