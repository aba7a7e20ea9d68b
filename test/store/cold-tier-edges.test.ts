/**
 * Cold files the store met without a word: two files naming one key (one silently won), a plaintext file in an
 * encrypted directory (loaded unsaid), and a symbolic link (skipped: its document silently absent).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { parseEncryptionKey } from '../../src/format/encryption.js';
import { encodeJss } from '../../src/format/jss.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/format/snapshot-file.js';
import { runCli } from '../support/cli.js';
import { copyFixture, FIXTURE_KEY, fixturesPresent, makeTempDir } from '../support/fixtures.js';

const KEY = parseEncryptionKey(FIXTURE_KEY);
const DOC = 'USER_9t7ey9m';

/** The `small` fixture with DOC evicted: left out of snapshot.jss; returns the document as the store served it. */
async function withEvicted(): Promise<{ dataDir: string; value: Record<string, unknown> }> {
  const dataDir = await copyFixture('small');
  const db = await createDB({ storeConfig: { dataDir } });
  const value = db.get(DOC) as Record<string, unknown>;
  await db.close();
  const file = path.join(dataDir, 'snapshot.jss');
  const snap = JSON.parse(await fsp.readFile(file, 'utf8')) as { documents: Record<string, unknown> };
  delete snap.documents[DOC];
  await fsp.writeFile(file, JSON.stringify(snap));
  return { dataDir, value };
}

async function writeCold(dataDir: string, rel: string, text: string, mtime?: Date): Promise<void> {
  await fsp.mkdir(path.dirname(path.join(dataDir, rel)), { recursive: true });
  await fsp.writeFile(path.join(dataDir, rel), text);
  if (mtime) await fsp.utimes(path.join(dataDir, rel), mtime, mtime);
}

describe.runIf(fixturesPresent())('cold tier edge cases', () => {
  it('two files naming one key: the store reads <id>.jss (the name BRI writes), and data verify names both and which is newer', async () => {
    const { dataDir, value } = await withEvicted();
    await writeCold(dataDir, 'cold/USER/9t7ey9m.jss', encodeJss(value), new Date(1_700_000_000_000));
    await writeCold(dataDir, 'cold/USER/USER_9t7ey9m.jss', encodeJss({ ...value, name: 'the other file' }), new Date(1_800_000_000_000));

    const r = await runCli(['data', 'verify', '-d', dataDir, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { cold: { ok: boolean; duplicates: unknown[] }; problems: string[] };
    expect(report.cold.ok).toBe(false);
    expect(report.cold.duplicates).toEqual([{ key: DOC, served: 'cold/USER/9t7ey9m.jss', ignored: ['cold/USER/USER_9t7ey9m.jss'] }]);
    expect(report.problems.join('\n')).toContain('the store reads cold/USER/9t7ey9m.jss (the name BRI writes and reads back) and leaves cold/USER/USER_9t7ey9m.jss unread; cold/USER/USER_9t7ey9m.jss is the newest by its time');

    const db = await createDB({ storeConfig: { dataDir } });
    expect(db.get(DOC)).toEqual(value);
    await db.close();
  });

  it('a plaintext cold file in an encrypted directory is read as the document, and data verify names it as not encrypted', async () => {
    const dataDir = await copyFixture('encrypted');
    const snapFile = path.join(dataDir, 'snapshot.jss');
    const snap = decodeSnapshot(await fsp.readFile(snapFile, 'utf8'), KEY);
    const key = [...snap.state.documents.keys()].find((k) => k.startsWith('USER_'))!;
    const db0 = await createDB({ storeConfig: { dataDir, encryptionKey: FIXTURE_KEY } });
    const value = db0.get(key) as object;
    await db0.close();
    const after = decodeSnapshot(await fsp.readFile(snapFile, 'utf8'), KEY);
    after.state.documents.delete(key);
    await fsp.writeFile(snapFile, encodeSnapshot(after, KEY));
    const rel = `cold/USER/${key.slice(5)}.jss`;
    await writeCold(dataDir, rel, encodeJss(value));

    const r = await runCli(['data', 'verify', '-d', dataDir, '--json'], { BRI_ENCRYPTION_KEY: FIXTURE_KEY });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { snapshot: { ok: boolean }; cold: { ok: boolean; plaintext: string[] }; problems: string[] };
    expect(report.snapshot.ok).toBe(true);
    expect(report.cold.plaintext).toEqual([rel]);
    expect(report.problems).toEqual([expect.stringContaining(`cold tier: ${rel} is not encrypted, while the key says encryption at rest is on`)]);

    const db = await createDB({ storeConfig: { dataDir, encryptionKey: FIXTURE_KEY } });
    expect(db.get(key)).toEqual(value);
    await db.close();
  });

  it.each([
    ['out of the data directory', async (dataDir: string, doc: string) => {
      const outside = path.join(await makeTempDir(), 'doc.jss');
      await fsp.writeFile(outside, doc);
      return outside;
    }],
    ['to another file inside cold/', async (dataDir: string, doc: string) => {
      await writeCold(dataDir, 'cold/USER/kept.jss.bak', doc);
      return 'kept.jss.bak';
    }],
  ])('a cold file that is a symbolic link %s is refused by the open (SNAPSHOT_CORRUPTED naming it) and named by data verify, never skipped', async (_where, makeTarget) => {
    const { dataDir, value } = await withEvicted();
    const target = await makeTarget(dataDir, encodeJss(value));
    await fsp.mkdir(path.join(dataDir, 'cold/USER'), { recursive: true });
    await fsp.symlink(target, path.join(dataDir, 'cold/USER/9t7ey9m.jss'));

    const r = await runCli(['data', 'verify', '-d', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cold tier: cold document cold/USER/9t7ey9m.jss is a symbolic link to ${target}`);
    expect(r.stderr).not.toContain('is missing');
    await expect(createDB({ storeConfig: { dataDir } })).rejects.toMatchObject({ code: 'SNAPSHOT_CORRUPTED', details: { file: 'cold/USER/9t7ey9m.jss', target, reason: 'cold-link' } });
  });

  it('a cold type folder that is a symbolic link is refused by the open naming it, its documents not silently absent', async () => {
    const { dataDir, value } = await withEvicted();
    const elsewhere = await makeTempDir();
    await fsp.writeFile(path.join(elsewhere, '9t7ey9m.jss'), encodeJss(value));
    await fsp.mkdir(path.join(dataDir, 'cold'), { recursive: true });
    await fsp.symlink(elsewhere, path.join(dataDir, 'cold/USER'));

    const r = await runCli(['data', 'verify', '-d', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cold tier: cold folder cold/USER is a symbolic link to ${elsewhere}`);
    await expect(createDB({ storeConfig: { dataDir } })).rejects.toMatchObject({ code: 'SNAPSHOT_CORRUPTED', details: { file: 'cold/USER', reason: 'cold-link' } });
  });
});
