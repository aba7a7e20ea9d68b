import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import type { ProgressEvent } from '../../src/archive/package/progress.js';
import { copyFixture, fixturesPresent, makeTempDir } from '../support/fixtures.js';
import { runCli } from '../support/cli.js';
import { flipByte } from '../support/tools.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

describe.skipIf(!fixturesPresent())('bri archive (end to end, child process)', () => {
  it('create, list, get, inspect, verify, stats, download, delete with --json', async () => {
    const dataDir = await copyFixture('crashed');
    made.push(path.dirname(dataDir));
    const created = await runCli(['archive', 'create', '-d', dataDir, '--name', 'nightly', '--retention', '30d', '--level', '3', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const c = JSON.parse(created.stdout);
    expect(c.manifest.name).toBe('nightly');
    expect(c.manifest.timeRange.walLines).toEqual({ start: 0, end: 630 });
    expect(new Date(c.manifest.retentionUntil).getTime() - new Date(c.manifest.createdAt).getTime()).toBe(30 * 86_400_000);

    const list = JSON.parse((await runCli(['archive', 'list', '-d', dataDir, '--json'])).stdout);
    expect(list.archives).toHaveLength(1);
    expect(list.archives[0].manifest.archiveId).toBe(c.archiveId);
    const human = await runCli(['archive', 'list', '-d', dataDir]);
    expect(human.stdout).toContain(c.archiveId);
    expect(human.stdout).toMatch(/1\.\.630/);
    // The ratio is the quotient of the columns beside it (original / the file's size), the one stats gives.
    const fileRatio = (list.archives[0].manifest.compression.originalSize / list.archives[0].bytes).toFixed(1) + 'x';
    expect(human.stdout.split('\n').find((l) => l.includes(c.archiveId))).toContain(` ${fileRatio} `);
    expect((await runCli(['archive', 'stats', '-d', dataDir])).stdout).toContain(`, ${fileRatio})`);

    const got = JSON.parse((await runCli(['archive', 'get', c.archiveId, '-d', dataDir, '--json'])).stdout);
    expect(got.manifest.archiveId).toBe(c.archiveId);
    const inspected = JSON.parse((await runCli(['archive', 'inspect', c.file, '--json'])).stdout);
    expect(inspected.archiveId).toBe(c.archiveId);
    expect((await runCli(['archive', 'inspect', c.file])).stdout).toContain('lines       1..630');

    const verify = await runCli(['archive', 'verify', c.archiveId, '-d', dataDir, '--json']);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, checked: { chain: 'verified', snapshot: 'verified' } });

    const stats = JSON.parse((await runCli(['archive', 'stats', '-d', dataDir, '--json'])).stdout);
    expect(stats).toMatchObject({ archives: 1, walLines: 630, gaps: [] });

    const copy = path.join(path.dirname(dataDir), 'copy.bri');
    expect((await runCli(['archive', 'download', c.archiveId, copy, '-d', dataDir, '--json'])).code).toBe(0);
    expect((await fsp.stat(copy)).size).toBe(c.bytes);

    // Damage the copy: verify fails with a stable code and names the member.
    const buf = await fsp.readFile(copy);
    flipByte(buf, buf.length - 2048);
    await fsp.writeFile(copy, buf);
    const bad = await runCli(['archive', 'verify', copy, '-d', dataDir]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/FAILED/);

    expect((await runCli(['archive', 'delete', c.archiveId, '-d', dataDir])).code).toBe(0);
    expect(JSON.parse((await runCli(['archive', 'list', '-d', dataDir, '--json'])).stdout).archives).toHaveLength(0);
  });

  it('refuses ids that are not ids, missing archives, and a directory locked by a live process', async () => {
    const dataDir = await copyFixture('small');
    made.push(path.dirname(dataDir));
    const traversal = await runCli(['archive', 'get', '../../etc/passwd', '-d', dataDir, '--json']);
    expect(traversal.code).not.toBe(0);
    const missing = await runCli(['archive', 'get', '20990101T000000000Z-deadbeef', '-d', dataDir, '--json']);
    expect(missing.code).toBe(20);
    expect(JSON.parse(missing.stderr).error.code).toBe('ARCHIVE_NOT_FOUND');
    const db = await createDB({ storeConfig: { dataDir } });
    try {
      const locked = await runCli(['archive', 'create', '-d', dataDir]);
      expect(locked.code).toBe(11);
      expect(locked.stderr).toContain('LOCKED');
    } finally {
      await db.close();
    }
  });
});

describe('progress', () => {
  it('create and verify emit progress events that reach the total', async () => {
    const root = await makeTempDir('bri-progress-');
    made.push(root);
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false } });
    await Promise.all(Array.from({ length: 300 }, (_, i) => db.set(`K${i}`, { i, text: 'lorem ipsum '.repeat(10) })));
    const events: ProgressEvent[] = [];
    const created = await db.archive.create({ level: 1, onProgress: (e) => events.push(e) });
    expect(events[0]!.phase).toBe('prepare');
    expect(events.some((e) => e.phase === 'wal')).toBe(true);
    const last = events[events.length - 1]!;
    expect(last.phase).toBe('done');
    expect(last.doneBytes).toBe(last.totalBytes);
    const verifyEvents: ProgressEvent[] = [];
    await db.archive.verify(created.archiveId, { onProgress: (e) => verifyEvents.push(e) });
    expect(verifyEvents.length).toBeGreaterThan(0);
    expect(verifyEvents.every((e) => e.operation === 'verify')).toBe(true);
    await db.close();
  });
});
