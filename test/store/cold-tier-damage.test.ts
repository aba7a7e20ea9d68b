/**
 * A cold tier (cold/<TYPE>/<id>.jss, documents BRI evicted and left out of snapshot.jss) that lost or
 * damaged a file is named as the cause, by `bri data verify` and by the store's open: a missing file was
 * "a snapshot of another database", a damaged encrypted one blamed the key and snapshot.jss, and a torn
 * plaintext one passed verify while the store served the fragment as the document.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { encryptText, parseEncryptionKey } from '../../src/format/encryption.js';
import { encodeJss } from '../../src/format/jss.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/format/snapshot-file.js';
import { runCli } from '../support/cli.js';
import { copyFixture, FIXTURE_KEY, fixturesPresent } from '../support/fixtures.js';

const KEY = parseEncryptionKey(FIXTURE_KEY);

/** Takes a document out of a plaintext snapshot.jss (evicted), returning its stored string as the snapshot held it. */
async function evictFromSnapshot(dataDir: string, key: string): Promise<void> {
  const file = path.join(dataDir, 'snapshot.jss');
  const snap = JSON.parse(await fsp.readFile(file, 'utf8')) as { documents: Record<string, unknown> };
  expect(snap.documents[key]).toBeDefined();
  delete snap.documents[key];
  await fsp.writeFile(file, JSON.stringify(snap));
}

async function writeCold(dataDir: string, rel: string, text: string): Promise<void> {
  await fsp.mkdir(path.dirname(path.join(dataDir, rel)), { recursive: true });
  await fsp.writeFile(path.join(dataDir, rel), text);
}

describe.runIf(fixturesPresent())('a damaged cold tier', () => {
  it('data verify names a missing cold file (a document the whole WAL holds and snapshot.jss left out as evicted) as the cold tier\'s, not the snapshot\'s', async () => {
    const dataDir = await copyFixture('small');
    await evictFromSnapshot(dataDir, 'USER_9t7ey9m');
    const r = await runCli(['data', 'verify', '-d', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cold tier: cold/USER/9t7ey9m.jss is missing');
    expect(r.stderr).not.toContain('snapshot.jss:');
  });

  it('a cold file the key does not open (one character altered) is named, the snapshot the key opens is reported OK, and the open says the file is damaged', async () => {
    const dataDir = await copyFixture('encrypted');
    const snapFile = path.join(dataDir, 'snapshot.jss');
    const snap = decodeSnapshot(await fsp.readFile(snapFile, 'utf8'), KEY);
    const key = [...snap.state.documents.keys()].find((k) => k.startsWith('USER_'))!;
    const raw = snap.state.documents.get(key);
    snap.state.documents.delete(key);
    await fsp.writeFile(snapFile, encodeSnapshot(snap, KEY));
    const sealed = encryptText(KEY, typeof raw === 'string' ? raw : JSON.stringify(raw));
    const rel = `cold/USER/${key.slice(5)}.jss`;
    await writeCold(dataDir, rel, sealed.slice(0, 40) + (sealed[40] === 'A' ? 'B' : 'A') + sealed.slice(41));

    const r = await runCli(['data', 'verify', '-d', dataDir, '--json'], { BRI_ENCRYPTION_KEY: FIXTURE_KEY });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { snapshot: { ok: boolean }; cold: { ok: boolean; error: string } };
    expect(report.snapshot.ok).toBe(true);
    expect(report.cold.ok).toBe(false);
    expect(report.cold.error).toContain(`${rel} cannot be decrypted with the key that opens snapshot.jss`);
    await expect(createDB({ storeConfig: { dataDir, encryptionKey: FIXTURE_KEY } })).rejects.toMatchObject({ code: 'DECRYPTION_FAILED', details: { file: rel } });
  });

  it.each([
    ['torn', '{"name":"Lin'],
    ['empty', ''],
  ])('a %s plaintext cold file fails data verify naming it, and the store\'s open refuses it (SNAPSHOT_CORRUPTED) rather than serve the fragment', async (_what, text) => {
    const dataDir = await copyFixture('small');
    await evictFromSnapshot(dataDir, 'USER_9t7ey9m');
    await writeCold(dataDir, 'cold/USER/9t7ey9m.jss', text);
    const r = await runCli(['data', 'verify', '-d', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cold tier: cold document cold/USER/9t7ey9m.jss does not hold a document');
    await expect(createDB({ storeConfig: { dataDir } })).rejects.toMatchObject({ code: 'SNAPSHOT_CORRUPTED', details: { file: 'cold/USER/9t7ey9m.jss' } });
  });

  it('an intact cold file (the document as the WAL last wrote it) passes verify and is served', async () => {
    const dataDir = await copyFixture('small');
    const db0 = await createDB({ storeConfig: { dataDir } });
    const value = db0.get('USER_9t7ey9m');
    await db0.close();
    await evictFromSnapshot(dataDir, 'USER_9t7ey9m');
    await writeCold(dataDir, 'cold/USER/9t7ey9m.jss', encodeJss(value as object));
    const r = await runCli(['data', 'verify', '-d', dataDir]);
    expect(r.code, r.stderr).toBe(0);
    const db = await createDB({ storeConfig: { dataDir } });
    expect(db.get('USER_9t7ey9m')).toEqual(value);
    await db.close();
  });
});
