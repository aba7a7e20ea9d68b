/**
 * Shipments are absorbed (deleted on the remote) only when an archive confirmed there holds their
 * lines as lines. An archive that starts from a state after lines no archive holds (made without the
 * remote's configuration, after WAL cleanup removed lines on the shipments' word) holds them only as
 * their effect: the shipments are their last copy and must stay.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const root = useTempDirs('bri-gap-absorb-');

function shipmentsIn(nas: string): string[] {
  const dir = path.join(nas, 'shipped');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((inst) => fs.readdirSync(path.join(dir, inst)).filter((n) => /\.wal\.zst$/.test(n)));
}

describe('absorbing shipments', () => {
  it('an archive that holds shipped lines only as their effect (a gap) does not absorb the shipments that are their last copy', async () => {
    const r = await root();
    const dataDir = path.join(r, 'data');
    const nas = path.join(r, 'nas');
    await fsp.mkdir(nas);
    const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 60_000 }, cleanupWal: true, compression: { level: 1 } };
    const config = path.join(r, 'archive.json');
    await fsp.writeFile(config, JSON.stringify(archive));
    const run = async (prefix: string, create: boolean) => {
      const db = await createDB({ storeConfig: { dataDir, archive } });
      try {
        for (let i = 0; i < 3; i++) await db.set(`${prefix}_${i}`, { v: i });
        if (create) await db.archive.create();
        else await db.archive.flushShipping();
      } finally {
        await db.close();
      }
    };
    await run('A', true);
    await run('B', false);
    await run('C', false);
    const cleaned = await runCli(['archive', 'cleanup-wal', '-d', dataDir, '-c', config]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    const shipped = shipmentsIn(nas);
    expect(shipped.length).toBeGreaterThan(0);
    // Without the remote's configuration the lines cannot be fetched back: an archive with a gap (said), or a refusal.
    const gap = await runCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(gap.code, gap.stderr).toBe(0);
    // Not "no remote holds them": this run had none to ask, and the remote the archives went to is named.
    expect(gap.stderr).toMatch(/WARNING: lines \d+\.\.\d+ are in no archive: .*no remote configured to fetch them back from \(shipped WAL is most likely on nas/);
    const up = await runCli(['archive', 'upload', '-d', dataDir, '-c', config]);
    expect(up.code, up.stderr).toBe(0);
    await run('D', false);
    const made = await runCli(['archive', 'create', '-d', dataDir, '-c', config, '-q']);
    expect(made.code, made.stderr).toBe(0);
    // B's and C's lines are still on nas, as lines: the shipments that hold them were not absorbed.
    const left = shipmentsIn(nas);
    for (const s of shipped) expect(left, s).toContain(s);
  }, 120_000);
});
