/**
 * A seed (`.seeds/<instance>.<line>.jss.zst`) that does not hold the state at its line (0 bytes, cut short, another
 * line's state) or whose facts say other counts is no seed: the next archive starts from the previous archive
 * replayed, verifies and restores; when nothing else gives that state, the error names the seed, not snapshot.jss.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { decodeSnapshot, encodeSnapshot } from '../../../src/format/snapshot-file.js';
import { parseEncryptionKey } from '../../../src/format/encryption.js';
import { toPlainState } from '../../../src/format/state.js';
import { replayArchive } from '../../../src/archive/package/replay.js';
import { readSeed, writeSeed } from '../../../src/archive/create/seeds.js';
import { resolveStartState } from '../../../src/archive/create/start-state.js';
import { ErrorCodes, isBriError } from '../../../src/errors.js';
import { makeTempDir } from '../../support/fixtures.js';
import { runCli } from '../../support/cli.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});

type Damage = (seed: string, facts: string) => Promise<void> | void;

/** The one plain seed of the directory's archives and its facts. */
function seedFiles(dataDir: string): { seed: string; facts: string } {
  const dir = path.join(dataDir, 'archives', '.seeds');
  const seed = fs.readdirSync(dir).find((n) => n.endsWith('.jss.zst'))!;
  return { seed: path.join(dir, seed), facts: path.join(dir, seed.replace(/\.jss\.zst$/, '.facts.json')) };
}

/** Two archives from a running database, more lines, the seed damaged, a third archive from the same open database. */
async function runningCreateAfter(damage: Damage, encryptionKey?: string): Promise<void> {
  const root = await makeTempDir('bri-bad-seed-');
  made.push(root);
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, ...(encryptionKey ? { encryptionKey } : {}) } });
  try {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40; i++) await db.set(`R${round}_${i}`, { i, round });
      await db.sAdd(`S${round}`, 'm');
      if (round === 2) {
        const { seed, facts } = seedFiles(dataDir);
        await damage(seed, facts);
      }
      const a = await db.archive.create();
      const report = await db.archive.verify(a.archiveId);
      expect(report.problems, `round ${round}`).toEqual([]);
      expect(report.ok).toBe(true);
      const replayed = await replayArchive(a.file, encryptionKey ? { key: parseEncryptionKey(encryptionKey) } : {});
      expect(toPlainState(replayed.state), `round ${round}`).toEqual(toPlainState(db.state));
      if (round === 2) expect(a.manifest.stats.documentsAtSnapshot).toBe(80);
    }
  } finally {
    await db.close();
  }
}

describe('a running database whose seed is damaged', () => {
  it('a 0-byte seed: create replays the previous archive; the archive verifies and restores', async () => {
    await runningCreateAfter((seed) => fs.truncateSync(seed, 0));
  });

  it('a seed cut short (not a whole zstd frame): the same', async () => {
    await runningCreateAfter((seed) => fs.truncateSync(seed, Math.floor(fs.statSync(seed).size / 2)));
  });

  it('facts with wrong counts: the manifest says what the snapshot member holds, and verify agrees', async () => {
    await runningCreateAfter((_seed, facts) => {
      const f = JSON.parse(fs.readFileSync(facts, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(facts, JSON.stringify({ ...f, documents: 7, collections: 1 }));
    });
  });

  it('facts with wrong counts in a database encrypted at rest: the counts are looked up inside with its key', async () => {
    await runningCreateAfter((_seed, facts) => {
      const f = JSON.parse(fs.readFileSync(facts, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(facts, JSON.stringify({ ...f, documents: 7 }));
    }, '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  });

  it("another line's state under the seed's name, with facts that describe it: not taken", async () => {
    await runningCreateAfter(async (seed) => {
      const [instanceId, line] = path.basename(seed).split('.') as [string, string];
      const archiveDir = path.dirname(path.dirname(seed));
      const snap = decodeSnapshot((await readSeed(archiveDir, instanceId, Number(line)))!);
      // The same documents, said to be at another line: written with facts that match the file.
      await writeSeed(archiveDir, instanceId, Number(line), encodeSnapshot({ ...snap, walLine: snap.walLine - 5 }), { documents: snap.state.documents.size, collections: snap.state.collections.size, version: snap.version });
    });
  });
});

describe('bri archive create with a 0-byte seed', () => {
  it('replays the previous archive: exit 0, and every archive verifies', { timeout: 240_000 }, async () => {
    const root = await makeTempDir('bri-bad-seed-cli-');
    made.push(root);
    const dataDir = path.join(root, 'data');
    const config = path.join(root, 'archive.json');
    fs.writeFileSync(config, JSON.stringify({ compression: { level: 3 }, errorCorrection: { enabled: false } }));
    const write = async (round: number) => {
      const db = await createDB({ storeConfig: { dataDir } });
      for (let i = 0; i < 30; i++) await db.set(`R${round}_${i}`, { i });
      await db.close();
    };
    for (let round = 0; round < 2; round++) {
      await write(round);
      const r = await runCli(['archive', 'create', '-d', dataDir, '-c', config]);
      expect(r.code, r.stderr).toBe(0);
    }
    await write(2);
    fs.truncateSync(seedFiles(dataDir).seed, 0);
    const r = await runCli(['archive', 'create', '-d', dataDir, '-c', config]);
    expect(r.stderr).not.toMatch(/SNAPSHOT_CORRUPTED|move snapshot\.jss aside/);
    expect(r.code, r.stderr).toBe(0);
    const verified = await runCli(['archive', 'verify', '--all', '-d', dataDir, '-c', config]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});

describe('a damaged seed, and nothing else that gives the state at its line', () => {
  it('the error names the seed file (not the data directory\'s snapshot.jss) and says why it is not used', async () => {
    const root = await makeTempDir('bri-bad-seed-none-');
    made.push(root);
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 30; i++) await db.set(`K${i}`, { i });
    const a = await db.archive.create();
    for (let i = 0; i < 30; i++) await db.set(`L${i}`, { i });
    await db.close();
    // The data directory's snapshot is past the seed's line (written at close), and no previous archive is given.
    const { seed } = seedFiles(dataDir);
    fs.truncateSync(seed, 0);
    const M = a.manifest.timeRange.walLines.end;
    const err = await resolveStartState({ dataDir, archiveDir: path.join(dataDir, 'archives'), instanceId: a.manifest.instanceId, removedLines: 0, startLine: M, walCompleteFromStart: true, timestamp: Date.now() }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isBriError(err, ErrorCodes.ARCHIVE_ERROR), String(err)).toBe(true);
    expect((err as Error).message).toContain(seed);
    expect((err as Error).message).toContain('holds nothing');
    expect((err as { hint?: string }).hint).toMatch(/previous archive/);
  });
});
