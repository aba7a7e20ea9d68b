/**
 * A wrong encryption key is the key's error, never the archive's (issue 13,
 * item 8): with every member checksum and PAR2 block good, a key that does
 * not decrypt the archive is DECRYPTION_FAILED (exit 12) for verify, restore,
 * download and restore verify, never "damaged", "repairable" or "beyond
 * repair"; a missing key where one is needed is ENCRYPTION_KEY_MISSING (12).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { toPlainState, type PlainState } from '../../../src/format/state.js';
import { recover } from '../../../src/store/recovery.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';
import { flipByte } from '../../support/tools.js';
import { copyDir, hurtEveryPacket, packetsIn, type Archived } from './damage-kit.js';

const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const WRONG = 'ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const tempDir = useTempDirs('bri-keyerr-');
let root: string;
let dataDir: string;
/** The first archive starts from the empty state (only its WAL lines are encrypted), the second from an encrypted snapshot. */
let ids: string[];
let files: string[];
let latest: PlainState;

beforeAll(async () => {
  root = await tempDir();
  dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false, walSegmentSize: 16 * 1024, encryptionKey: KEY } });
  try {
    ids = [];
    files = [];
    for (let round = 0; round < 2; round++) {
      await Promise.all(Array.from({ length: 400 }, (_, i) => db.set(`R${round}_${i}`, { round, i, text: 'secret '.repeat(1 + (i % 5)) })));
      const c = await db.archive.create({ level: 3 });
      ids.push(c.archiveId);
      files.push(c.file);
    }
    latest = toPlainState(db.state);
  } finally {
    await db.close();
  }
}, 60_000);

function expectKeyError(r: CliResult, code: 'DECRYPTION_FAILED' | 'ENCRYPTION_KEY_MISSING'): void {
  expect(r.code, r.stderr).toBe(12);
  expect(r.stderr).toContain(code);
  expect(r.stderr).not.toMatch(/damaged|repairable|beyond repair|ARCHIVE_CORRUPTED/);
}

describe('a wrong key', () => {
  it('bri archive verify: DECRYPTION_FAILED (exit 12) for either archive, with --json too; the right key verifies', async () => {
    for (const id of ids) {
      expectKeyError(await runCli(['archive', 'verify', id, '-d', dataDir], { BRI_ENCRYPTION_KEY: WRONG }), 'DECRYPTION_FAILED');
      const json = await runCli(['archive', 'verify', id, '-d', dataDir, '--json'], { BRI_ENCRYPTION_KEY: WRONG });
      expect(json.code).toBe(12);
      expect(JSON.parse(json.stderr).error.code).toBe('DECRYPTION_FAILED');
      expect((await runCli(['archive', 'verify', id, '-d', dataDir], { BRI_ENCRYPTION_KEY: KEY })).code).toBe(0);
    }
  });

  it('bri restore latest / from, bri archive download, bri restore verify: DECRYPTION_FAILED, nothing written', async () => {
    const target = path.join(root, 'restored-wrong');
    expectKeyError(await runCli(['restore', 'latest', '-d', dataDir, '--target', target], { BRI_ENCRYPTION_KEY: WRONG }), 'DECRYPTION_FAILED');
    expectKeyError(await runCli(['restore', 'from', ids[0]!, '-d', dataDir, '--target', target], { BRI_ENCRYPTION_KEY: WRONG }), 'DECRYPTION_FAILED');
    await expect(fsp.access(target)).rejects.toThrow();
    const copy = path.join(root, 'download.bri');
    expectKeyError(await runCli(['archive', 'download', ids[1]!, copy, '-d', dataDir], { BRI_ENCRYPTION_KEY: WRONG }), 'DECRYPTION_FAILED');
    await expect(fsp.access(copy)).rejects.toThrow();
    expectKeyError(await runCli(['restore', 'verify', ids[1]!, '-d', dataDir], { BRI_ENCRYPTION_KEY: WRONG }), 'DECRYPTION_FAILED');
    expect((await fsp.readdir(root)).sort()).toEqual(['data']);

    const right = await runCli(['restore', 'latest', '-d', dataDir, '--target', path.join(root, 'restored-right')], { BRI_ENCRYPTION_KEY: KEY });
    expect(right.code, right.stderr).toBe(0);
    expect(toPlainState((await recover(path.join(root, 'restored-right'), { encryptionKey: (await import('../../../src/format/encryption.js')).parseEncryptionKey(KEY) })).state)).toEqual(latest);
    await fsp.rm(path.join(root, 'restored-right'), { recursive: true });
  });

  it('the data damaged within the redundancy, or the recovery data damaged: still the key error once the bytes are whole', async () => {
    const original = await fsp.readFile(files[1]!);
    const recHeader = original.indexOf(Buffer.from('recovery.par2\0'));
    const a = { packets: packetsIn(original, recHeader + 512, original.length) } as Archived;
    const hurtData = Buffer.from(original);
    flipByte(hurtData, 700, 0x5a); // the manifest: even the listing needs a repair first
    flipByte(hurtData, Math.floor(recHeader / 2), 0x5a);
    const hurtRecovery = Buffer.from(original);
    hurtEveryPacket(a, hurtRecovery, 'Main');
    for (const [name, bytes] of [['hurt-data', hurtData], ['hurt-recovery', hurtRecovery]] as const) {
      const { dir, file } = await copyDir(root, `archives-${name}`, { file: files[1]! } as Archived, bytes);
      const target = path.join(root, `target-${name}`);
      expectKeyError(await runCli(['restore', 'latest', '-d', dataDir, '-a', dir, '--target', target], { BRI_ENCRYPTION_KEY: WRONG }), 'DECRYPTION_FAILED');
      await expect(fsp.access(target)).rejects.toThrow();
      if (name === 'hurt-recovery') expectKeyError(await runCli(['archive', 'verify', file, '-d', dataDir], { BRI_ENCRYPTION_KEY: WRONG }), 'DECRYPTION_FAILED');
      const right = await runCli(['restore', 'latest', '-d', dataDir, '-a', dir, '--target', target], { BRI_ENCRYPTION_KEY: KEY });
      expect(right.code, right.stderr).toBe(0);
      expect((await fsp.readdir(dir)).sort(), 'no scratch file left').toEqual([path.basename(file)]);
      await fsp.rm(dir, { recursive: true });
      await fsp.rm(target, { recursive: true });
    }
  });
});

describe('no key', () => {
  it('restoring an archive that starts from an encrypted snapshot: ENCRYPTION_KEY_MISSING (exit 12)', async () => {
    const target = path.join(root, 'restored-nokey');
    expectKeyError(await runCli(['restore', 'from', ids[1]!, '-d', dataDir, '--target', target]), 'ENCRYPTION_KEY_MISSING');
    await expect(fsp.access(target)).rejects.toThrow();
  });
});
