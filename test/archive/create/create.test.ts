import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchiveApi, offlineHost } from '../../../src/archive/archive-api.js';
import { createDB } from '../../../src/db.js';
import { parseEncryptionKey } from '../../../src/format/encryption.js';
import { decodeJss } from '../../../src/format/jss.js';
import { decodeManifest } from '../../../src/format/manifest.js';
import { listSegments } from '../../../src/store/layout.js';
import { replayArchive } from '../../../src/archive/package/replay.js';
import { toPlainState } from '../../../src/format/state.js';
import { copyFixture, FIXTURE_NAMES, fixtureKey, fixturesPresent, loadCheckpoints, makeTempDir, normalizeState } from '../../support/fixtures.js';
import { requireTools, run } from '../../support/tools.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

async function walText(dataDir: string): Promise<string> {
  let out = '';
  for (const s of await listSegments(dataDir)) out += await fsp.readFile(s.path, 'utf8');
  return out;
}

const tools = requireTools('tar', 'zstd', 'sha256sum');

describe.skipIf(!fixturesPresent())('archives of BRI fixtures', () => {
  for (const name of FIXTURE_NAMES) {
    it(`${name}: archives (offline, without the key), verifies, and holds the WAL byte for byte`, async () => {
      const dataDir = await copyFixture(name);
      made.push(path.dirname(dataDir));
      const original = await walText(dataDir);
      const api = new ArchiveApi(offlineHost(dataDir, undefined), { compression: { level: 3 } });
      const created = await api.create({ name: `${name} archive` });
      expect(created.manifest.timeRange.walLines).toEqual({ start: 0, end: original.split('\n').length - 1 });
      expect(created.manifest.name).toBe(`${name} archive`);
      const report = await api.verify(created.archiveId);
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.checked.chain).toBe(name === 'encrypted' ? 'format-only' : 'verified');

      if (name === 'encrypted') {
        const key = parseEncryptionKey(fixtureKey(name)!);
        const withKey = new ArchiveApi(offlineHost(dataDir, key));
        expect((await withKey.verify(created.archiveId)).checked.chain).toBe('verified');
      }
      // The archive's WAL replayed gives the fixture's last state.
      const key = fixtureKey(name) ? parseEncryptionKey(fixtureKey(name)!) : undefined;
      const replayed = await replayArchive(created.file, key ? { key } : {});
      const cps = loadCheckpoints(name);
      expect(normalizeState(toPlainState(replayed.state))).toEqual(normalizeState(cps[cps.length - 1]!.state));

      if (!tools) return;
      const out = path.join(path.dirname(dataDir), 'unpacked');
      await fsp.mkdir(out);
      const listing = run('tar', ['-tf', created.file], out).trim().split('\n');
      expect(listing[0]).toBe('manifest.jss');
      expect(listing[1]).toBe('snapshot.jss.zst');
      expect(listing.slice(-2)).toEqual(['checksums.sha256', 'recovery.par2']);
      run('tar', ['-xf', created.file], out);
      expect(run('sha256sum', ['-c', 'checksums.sha256'], out)).toMatch(/manifest\.jss: OK/);
      const walMembers = listing.filter((l) => l.startsWith('wal/'));
      expect(walMembers.length).toBeGreaterThan(3);
      let joined = '';
      for (const m of walMembers) joined += run('zstd', ['-dc', m], out);
      expect(joined).toBe(original);
      const manifest = decodeManifest(await fsp.readFile(path.join(out, 'manifest.jss'), 'utf8'));
      expect(manifest.archiveId).toBe(created.archiveId);
      const snap = decodeJss<{ walLine: number }>(run('zstd', ['-dc', 'snapshot.jss.zst'], out));
      expect(snap.walLine).toBe(0);
    });
  }
});

describe('the manifest', () => {
  it('has every field of the package format, validated on read', async () => {
    const root = await makeTempDir('bri-manifest-');
    made.push(root);
    const db = await createDB({ storeConfig: { dataDir: path.join(root, 'data'), snapshotOnClose: false } });
    await db.set('USER_1', { name: 'Ada' });
    await db.sAdd('USER?', '1');
    await db.rename('USER_1', 'X:USER_1:X');
    const created = await db.archive.create({ name: 'nightly', retention: 'permanent', level: 1 });
    await db.close();
    const m = created.manifest;
    expect(Object.keys(m).sort()).toEqual(
      ['version', 'archiveId', 'instanceId', 'name', 'previousArchiveId', 'timeRange', 'chain', 'contents', 'compression', 'integrity', 'errorCorrection', 'stats', 'createdAt', 'createdBy', 'retentionUntil', 'permanent'].sort(),
    );
    expect(m).toMatchObject({
      version: 1,
      name: 'nightly',
      permanent: true,
      retentionUntil: null,
      timeRange: { walLines: { start: 0, end: 3 } },
      chain: { prevPointer: '', verified: true },
      contents: { totalWalEntries: 3, snapshot: { walLine: 0, file: 'snapshot.jss.zst' } },
      compression: { algorithm: 'zstd', level: 1 },
      stats: { documentsAtSnapshot: 0, operationsInWal: 3, byOperation: { SET: 1, DELETE: 0, RENAME: 1, SADD: 1, SREM: 0 } },
    });
    expect(m.contents.segments[0]).toMatchObject({ file: 'wal/000000.wal.zst', segment: '000000.wal', firstLine: 1, lastLine: 3, entries: 3 });
    expect(Object.keys(m.integrity.members)).toEqual(['snapshot.jss.zst', 'wal/000000.wal.zst']);
  });

  it('refuses a manifest that fails the schema or is inconsistent', () => {
    expect(() => decodeManifest('{"version":1}')).toThrowError(expect.objectContaining({ code: 'ARCHIVE_INVALID' }));
    expect(() => decodeManifest('not jss')).toThrowError(expect.objectContaining({ code: 'ARCHIVE_INVALID' }));
  });
});

describe('consecutive archives', () => {
  it('chain exactly across writes, snapshots and restarts, and a restart continues the chain', async () => {
    const root = await makeTempDir('bri-chain-');
    made.push(root);
    const dataDir = path.join(root, 'data');
    let db = await createDB({ storeConfig: { dataDir, walSegmentSize: 2048, snapshotOnClose: false } });
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40; i++) await db.set(`K_${round}_${i}`, { round, i, pad: 'x'.repeat(i) });
      if (round === 1) await db.createSnapshot();
      ids.push((await db.archive.create({ level: 1 })).archiveId);
      if (round === 1) {
        await db.close();
        db = await createDB({ storeConfig: { dataDir, walSegmentSize: 2048, snapshotOnClose: false } });
      }
    }
    await expect(db.archive.create()).rejects.toMatchObject({ code: 'NOTHING_TO_ARCHIVE' });
    const archives = await db.archive.list();
    expect(archives.map((a) => a.manifest.archiveId)).toEqual(ids);
    for (let i = 1; i < archives.length; i++) {
      const prev = archives[i - 1]!.manifest;
      const cur = archives[i]!.manifest;
      expect(cur.timeRange.walLines.start).toBe(prev.timeRange.walLines.end);
      expect(cur.chain.prevPointer).toBe(prev.chain.lastPointer);
      expect(cur.previousArchiveId).toBe(prev.archiveId);
    }
    expect((await db.archive.stats()).gaps).toEqual([]);
    for (const id of ids) expect((await db.archive.verify(id)).ok).toBe(true);
    // The end of the last archive is the database's state.
    const last = await replayArchive(archives[2]!.file!);
    expect(toPlainState(last.state)).toEqual(toPlainState(db.state));
    await db.close();
    expect(fs.existsSync(path.join(dataDir, 'archives', '.seeds'))).toBe(true);
  });
});

describe('seeds: the state the next archive starts from', () => {
  it('a running database keeps the counts beside the seed; the manifest says the same with or without them', async () => {
    const root = await makeTempDir('bri-seed-facts-');
    made.push(root);
    const dataDir = path.join(root, 'data');
    const seeds = path.join(dataDir, 'archives', '.seeds');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    try {
      const counts: Array<{ documents: number; collections: number }> = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 30; i++) await db.set(`R${round}_${i}`, { i });
        await db.sAdd(`S${round}`, 'm');
        if (round > 0) await db.delete(`R${round - 1}_0`);
        if (round === 2) {
          // Without the facts the seed is decoded: the numbers must not change.
          for (const n of fs.readdirSync(seeds)) if (n.endsWith('.facts.json')) fs.rmSync(path.join(seeds, n));
        }
        const a = await db.archive.create({ level: 1 });
        counts.push({ documents: db.state.documents.size, collections: db.state.collections.size });
        const facts = fs.readdirSync(seeds).filter((n) => n.endsWith('.facts.json'));
        expect(facts, 'one facts file, for the newest seed').toEqual([`${a.manifest.instanceId}.${a.manifest.timeRange.walLines.end}.facts.json`]);
        const written = JSON.parse(fs.readFileSync(path.join(seeds, facts[0]!), 'utf8')) as Record<string, unknown>;
        expect({ documents: written.documents, collections: written.collections }).toEqual(counts[round]);
        expect(written.member).toMatchObject({ level: 3, compressedSize: fs.statSync(path.join(seeds, facts[0]!.replace('.facts.json', '.jss.zst'))).size });
        if (round > 0) {
          expect({ documents: a.manifest.stats.documentsAtSnapshot, collections: a.manifest.stats.collectionsAtSnapshot }, `round ${round}`).toEqual(counts[round - 1]);
          const replayed = await replayArchive(a.file);
          expect(toPlainState(replayed.state)).toEqual(toPlainState(db.state));
        }
      }
    } finally {
      await db.close();
    }
  });
});

describe('a seed taken as the snapshot member as it is', () => {
  it.skipIf(!tools)('an archive at the seed level stores the seed file byte for byte; one whose seed no longer matches its facts, or at another level, compresses it again; all verify and replay', async () => {
    const root = await makeTempDir('bri-seed-member-');
    made.push(root);
    const dataDir = path.join(root, 'data');
    const seeds = path.join(dataDir, 'archives', '.seeds');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    const seedFile = () => fs.readdirSync(seeds).find((n) => n.endsWith('.jss.zst'))!;
    const member = (file: string) => execFileSync('tar', ['-xOf', file, 'snapshot.jss.zst']);
    try {
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 200; i++) await db.set(`R${round}_${i}`, { i, text: 'x'.repeat(i % 50) });
        let before: Buffer | null = null;
        if (round > 0) {
          // The seed rewritten as two zstd frames (the same text; our compressor writes one): bytes that
          // only a member taken as it is can have.
          const file = path.join(seeds, seedFile());
          const text = execFileSync('zstd', ['-dc', file]);
          const cut = Math.floor(text.length / 2);
          before = Buffer.concat([execFileSync('zstd', ['-3', '-c'], { input: text.subarray(0, cut) }), execFileSync('zstd', ['-3', '-c'], { input: text.subarray(cut) })]);
          fs.writeFileSync(file, before);
          // Round 1: facts updated to the new file. Round 2: left as they were (a seed rewritten after its facts): read the long way.
          if (round !== 2) {
            const factsFile = path.join(seeds, fs.readdirSync(seeds).find((n) => n.endsWith('.facts.json'))!);
            const facts = JSON.parse(fs.readFileSync(factsFile, 'utf8')) as { member: { sha256: string; compressedSize: number } };
            facts.member.sha256 = createHash('sha256').update(before).digest('hex');
            facts.member.compressedSize = before.length;
            fs.writeFileSync(factsFile, JSON.stringify(facts));
          }
        }
        const a = await db.archive.create({ level: round === 3 ? 4 : 3 });
        if (before !== null) {
          const stored = member(a.file);
          // Taken as it is at level 3 with facts that match; compressed again otherwise (stale facts, another level).
          expect(stored.equals(before), `round ${round}`).toBe(round === 1);
          expect(a.manifest.contents.snapshot.compressedSize).toBe(stored.length);
        }
        expect((await db.archive.verify(a.archiveId)).ok, `round ${round}`).toBe(true);
        const replayed = await replayArchive(a.file);
        expect(toPlainState(replayed.state)).toEqual(toPlainState(db.state));
      }
    } finally {
      await db.close();
    }
  });
});

describe('snapshot versions along a chain', () => {
  it('offline archives start from version 1 seeds and say so; a version 2 seed from before (no version in its facts) is said as 2; each verifies and replays', async () => {
    const root = await makeTempDir('bri-seed-version-');
    made.push(root);
    const dataDir = path.join(root, 'data');
    const seeds = path.join(dataDir, 'archives', '.seeds');
    const write = async (round: number) => {
      const db = await createDB({ storeConfig: { dataDir } });
      for (let i = 0; i < 20; i++) await db.set(`R${round}_${i}`, { i, at: new Date(1_700_000_000_000 + i) });
      await db.sAdd(`S${round}`, `m${round}`);
      if (round > 0) await db.rename(`R${round - 1}_1`, `MOVED${round}`);
      const state = toPlainState(db.state);
      await db.close();
      return state;
    };
    const api = new ArchiveApi(offlineHost(dataDir, undefined), { compression: { level: 1 } });
    const versions: number[] = [];
    for (let round = 0; round < 4; round++) {
      const expected = await write(round);
      if (round === 3) {
        // A seed as earlier code left it: version 2 text, facts without a version.
        const seedFile = fs.readdirSync(seeds).find((n) => !n.endsWith('.facts.json'))!;
        const factsFile = fs.readdirSync(seeds).find((n) => n.endsWith('.facts.json'))!;
        const facts = JSON.parse(fs.readFileSync(path.join(seeds, factsFile), 'utf8')) as Record<string, unknown>;
        expect(facts.version).toBe(1);
        delete facts.version;
        fs.writeFileSync(path.join(seeds, factsFile), JSON.stringify(facts));
        const { decodeSnapshot, encodeSnapshot } = await import('../../../src/format/snapshot-file.js');
        const { readSeed, writeSeed } = await import('../../../src/archive/create/seeds.js');
        const [instanceId, line] = seedFile.split('.') as [string, string];
        const text = (await readSeed(path.join(dataDir, 'archives'), instanceId, Number(line)))!;
        const snap = decodeSnapshot(text);
        expect(snap.version).toBe(1);
        await writeSeed(path.join(dataDir, 'archives'), instanceId, Number(line), encodeSnapshot({ ...snap, version: 2 }), { documents: snap.state.documents.size, collections: snap.state.collections.size });
      }
      const a = await api.create();
      versions.push(a.manifest.contents.snapshot.version);
      const report = await api.verify(a.archiveId);
      expect(report.problems, `round ${round}`).toEqual([]);
      expect(toPlainState((await replayArchive(a.file!)).state), `round ${round}`).toEqual(expected);
    }
    // The first starts from the empty state, the next two from version 1 seeds, the last from the old version 2 seed.
    expect(versions).toEqual([1, 1, 1, 2]);
  });
});
