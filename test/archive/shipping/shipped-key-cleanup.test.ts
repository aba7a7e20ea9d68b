/**
 * WAL cleanup removes shipped lines only when this machine's identity opens the encrypted shipments
 * (the next archive fetches them back): an identity merely present (another key, an unrelated
 * BRI_AGE_PASSPHRASE) keeps them. When the key to open them is missing at create, the create says so
 * (exit 12) and names the identity it needs.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { afterEach, describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-ship-key-');

async function keyFile(dir: string, name: string): Promise<{ file: string; recipient: string }> {
  const identity = await generateIdentity();
  const file = path.join(dir, name);
  await fsp.writeFile(file, `# created for a test\n${identity}\n`, { mode: 0o600 });
  return { file, recipient: await identityToRecipient(identity) };
}

async function setup() {
  const r = await root();
  const nas = path.join(r, 'nas');
  await fsp.mkdir(nas);
  const right = await keyFile(r, 'right.txt');
  const wrong = await keyFile(r, 'wrong.txt');
  const archive = (identityFile?: string) => ({
    remotes: [{ provider: 'local' as const, name: 'nas', path: nas }],
    continuous: { enabled: true, intervalMs: 20 },
    compression: { level: 1 },
    encryption: { recipients: [right.recipient], ...(identityFile ? { identityFile } : {}) },
  });
  const open = (identityFile?: string) => createDB({ storeConfig: { dataDir: path.join(r, 'data'), archive: archive(identityFile), walSegmentSize: 300, snapshotOnClose: false } });
  return { r, right, wrong, open };
}

/** Archives lines 1..5, ships 6..25, cleans the WAL up; returns the cleanup's safe line. */
async function archiveShipAndClean(db: Awaited<ReturnType<Awaited<ReturnType<typeof setup>>['open']>>): Promise<number> {
  for (let i = 0; i < 5; i++) await db.set(`A_${i}`, { v: i });
  await db.archive.create();
  for (let i = 0; i < 20; i++) await db.set(`B_${i}`, { v: i });
  await db.archive.flushShipping();
  return (await db.archive.cleanupWal()).safeLine;
}

const savedPassphrase = process.env.BRI_AGE_PASSPHRASE;
afterEach(() => {
  if (savedPassphrase === undefined) delete process.env.BRI_AGE_PASSPHRASE;
  else process.env.BRI_AGE_PASSPHRASE = savedPassphrase;
});

describe('WAL cleanup and encrypted shipments', () => {
  it('keeps shipped lines in wal/ when the identity file is another key than the recipients, and the next archive holds them', async () => {
    const { wrong, open } = await setup();
    const db = await open(wrong.file);
    try {
      expect(await archiveShipAndClean(db)).toBe(5);
      await db.set('C', { v: 1 });
      const a = await db.archive.create();
      expect(a.manifest.timeRange.walLines).toEqual({ start: 5, end: 26 });
    } finally {
      await db.close();
    }
  }, 60_000);

  it('keeps shipped lines in wal/ when only an unrelated BRI_AGE_PASSPHRASE is set', async () => {
    const { open } = await setup();
    process.env.BRI_AGE_PASSPHRASE = 'the passphrase of another setup';
    const db = await open();
    try {
      expect(await archiveShipAndClean(db)).toBe(5);
      await db.set('C', { v: 1 });
      await expect(db.archive.create()).resolves.toBeDefined();
    } finally {
      await db.close();
    }
  }, 60_000);

  it('removes shipped lines with the recipients\' identity; a create without it then fails DECRYPTION_FAILED naming the recipient, and succeeds with it', async () => {
    const { right, wrong, open } = await setup();
    const db = await open(right.file);
    try {
      expect(await archiveShipAndClean(db)).toBe(25);
    } finally {
      await db.close();
    }
    const withWrong = await open(wrong.file);
    try {
      await withWrong.set('C', { v: 1 });
      const err = await withWrong.archive.create().then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'DECRYPTION_FAILED' });
      expect((err as Error).message).toContain(right.recipient);
      expect((err as { hint: string }).hint).toMatch(/remotes still hold the lines/);
    } finally {
      await withWrong.close();
    }
    const withRight = await open(right.file);
    try {
      const a = await withRight.archive.create();
      expect(a.manifest.timeRange.walLines).toEqual({ start: 5, end: 26 });
    } finally {
      await withRight.close();
    }
  }, 60_000);
});
