/**
 * Whatever the tool writes, its own reader accepts: every value that becomes a
 * path, an object key or a manifest field (an archive's name, its retention, a
 * clone's instance id) is checked where it enters, with the reader's rule. A
 * value is either refused (USAGE) before anything is written, or the archive
 * made with it reads back, lists, and restores; a clone with its id archives
 * and restores like any database.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../../src/archive/package/reader.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import type { Retention } from '../../../src/archive/create/create.js';
import { createDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';
import { toPlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { endsWithin } from '../../support/property-budget.js';

const tmp = useTempDirs('bri-readback-');

const archiveFiles = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.bri')).sort() : []);

const retention: fc.Arbitrary<Retention> = fc.oneof(
  fc.constant('permanent' as const),
  fc.record({ days: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.integer({ min: 1, max: 3_000_000 }), fc.double({ noNaN: false }), fc.constant(99_999_999_999)) }),
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: false }),
);
const name = fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constantFrom('nightly', 'pre-migration', '../x', 'a/b', ' lead', 'x'.repeat(101), 'é t@:+.'));

describe('property: what create writes, its reader accepts', () => {
  it('generated names and retentions: refused before anything is written, or the archive reads back and lists', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const archiveDir = path.join(dataDir, 'archives');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, errorCorrection: { enabled: false } } } });
    let made = 0;
    let refused = 0;
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.option(name, { nil: undefined }), fc.option(retention, { nil: undefined }), async (nm, ret) => {
          await db.set(`K_${n++}`, { n });
          const before = archiveFiles(archiveDir);
          let created;
          try {
            created = await db.archive.create({ ...(nm !== undefined ? { name: nm } : {}), ...(ret !== undefined ? { retention: ret } : {}) });
          } catch (err) {
            expect(isBriError(err, 'USAGE'), `${String(err)} for ${JSON.stringify({ nm, ret })}`).toBe(true);
            expect(archiveFiles(archiveDir)).toEqual(before);
            refused++;
            return;
          }
          const back = await readManifest(created.file);
          expect(back).toEqual(created.manifest);
          expect(back.name).toBe(nm ?? null);
          expect((await db.archive.get(created.archiveId)).manifest).toEqual(back);
          made++;
        }),
        { numRuns: Number(process.env.READBACK_RUNS ?? 120), ...endsWithin(300_000) },
      );
      // Nothing listed is unreadable, and the stats see no gap: every archive chains to the next.
      const listing = await db.archive.scan();
      expect(listing.unreadable).toEqual([]);
      expect((await db.archive.stats()).gaps).toEqual([]);
    } finally {
      await db.close();
    }
    console.log(`reads-back property: ${made + refused} create calls, ${made} archives read back, ${refused} refused before writing`);
    expect(made).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 300_000);

  it('generated instance ids for a clone: refused before anything is written, or the clone archives, and that archive restores', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 20; i++) await db.set(`A_${i}`, { i });
    await db.archive.create();
    for (let i = 0; i < 20; i++) await db.set(`B_${i}`, { i });
    const second = await db.archive.create();
    await db.close();
    const source = await readManifest(second.file);
    let made = 0;
    let refused = 0;
    let k = 0;
    const id = fc.oneof(fc.string({ maxLength: 70 }), fc.uuid(), fc.constantFrom('staging', 'bri-clone-01', '../../x', 'Staging', 'a.b', '', '-x', source.instanceId));
    await fc.assert(
      fc.asyncProperty(id, async (newInstanceId) => {
        const target = path.join(r, `clone-${k++}`);
        let restored;
        try {
          // The second archive does not start at line 0: the clone's first archive must still hold everything.
          restored = await openRestore({ dataDir }).clone({ archiveId: second.archiveId, targetDir: target, newInstanceId });
        } catch (err) {
          expect(isBriError(err, 'USAGE'), `${String(err)} for ${JSON.stringify(newInstanceId)}`).toBe(true);
          expect(fs.existsSync(target)).toBe(false);
          expect(fs.readdirSync(r).filter((n) => n.includes('..') || n.startsWith(`clone-${k - 1}.`))).toEqual([]);
          refused++;
          return;
        }
        expect(restored.instanceId).toBe(newInstanceId);
        const clone = await createDB({ storeConfig: { dataDir: target, archive: { compression: { level: 1 } } } });
        await clone.set('CLONE_1', { from: newInstanceId });
        await clone.close();
        const cli = await runCli(['archive', 'create', '-d', target, '--json']);
        expect(cli.code, cli.stderr).toBe(0);
        const created = JSON.parse(cli.stdout) as { file: string; manifest: { instanceId: string; timeRange: { walLines: { start: number; end: number } } } };
        const back = await readManifest(created.file);
        expect(back.instanceId).toBe(newInstanceId);
        // Every restored line and the clone's own write: from the source archive's start line on.
        expect(back.timeRange.walLines).toEqual({ start: source.timeRange.walLines.start, end: source.timeRange.walLines.end + 1 });
        const out = path.join(r, `restored-${k}`);
        await openRestore({ dataDir: target }).fromLatest({ targetDir: out });
        expect(toPlainState((await recover(out)).state).documents).toHaveProperty('CLONE_1');
        made++;
      }),
      { numRuns: Number(process.env.READBACK_CLONE_RUNS ?? 25), ...endsWithin(600_000) },
    );
    console.log(`reads-back property (clones): ${made + refused} instance ids, ${made} clones archived and restored, ${refused} refused before writing`);
    expect(made).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 600_000);
});

describe('bri: the cases found', () => {
  it('clone --new-instance-id staging archives and restores; ../../x is refused and writes nothing; --retention 99999999999d is refused without a stack trace', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 10; i++) await db.set(`A_${i}`, { i });
    await db.archive.create();
    for (let i = 0; i < 10; i++) await db.set(`B_${i}`, { i });
    const second = await db.archive.create();
    await db.close();
    const staging = path.join(r, 'staging');
    const cloned = await runCli(['restore', 'clone', second.archiveId, '-d', dataDir, '--target', staging, '--new-instance-id', 'staging']);
    expect(cloned.code, cloned.stderr).toBe(0);
    const c = await createDB({ storeConfig: { dataDir: staging } });
    await c.set('STAGING_ONLY', { yes: true });
    await c.close();
    const made = await runCli(['archive', 'create', '-d', staging, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const listed = await runCli(['archive', 'list', '-d', staging, '--json']);
    expect(JSON.parse(listed.stdout).unreadable).toEqual([]);
    const back = await runCli(['restore', 'latest', '-d', staging, '--target', path.join(r, 'staging-restored')]);
    expect(back.code, back.stderr).toBe(0);
    expect(toPlainState((await recover(path.join(r, 'staging-restored'))).state).documents).toHaveProperty('STAGING_ONLY');

    const evil = await runCli(['restore', 'clone', '-d', dataDir, '--target', path.join(r, 'evil'), '--new-instance-id', '../../x']);
    expect(evil.code).toBe(2);
    expect(evil.stderr).toMatch(/not a valid new instance id/);
    expect(fs.existsSync(path.join(r, 'evil'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'x.0.jss.zst'))).toBe(false);

    const before = archiveFiles(path.join(dataDir, 'archives'));
    const huge = await runCli(['archive', 'create', '-d', dataDir, '--retention', '99999999999d']);
    expect(huge.code).toBe(2);
    expect(huge.stderr).not.toMatch(/internal error|RangeError|    at /);
    expect(archiveFiles(path.join(dataDir, 'archives'))).toEqual(before);
    const stats = await runCli(['archive', 'stats', '-d', dataDir, '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout).gaps).toEqual([]);
  }, 120_000);
});
