/**
 * A --config file's relative paths are relative to the file (offline.ts, loadArchiveConfigFile):
 * the same file names the same archive directory, remotes and key files from any working directory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { loadArchiveConfigFile } from '../../src/archive/offline.js';
import { besideOriginalUnsaid, runCli } from '../support/cli.js';
import { makeTempDir } from '../support/fixtures.js';

async function dataDirWithOneDoc(root: string): Promise<string> {
  const dir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir: dir } });
  await db.set('A', { a: 1 });
  await db.close();
  return dir;
}

describe('relative paths in a --config file', () => {
  it('encryption.identityFile is relative to the file: a restore from another working directory reads the key beside the file', async () => {
    const root = await makeTempDir('bri-config-paths-');
    const dir = await dataDirWithOneDoc(root);
    const etc = path.join(root, 'etc', 'bri');
    fs.mkdirSync(etc, { recursive: true });
    const identity = await generateIdentity();
    fs.writeFileSync(path.join(etc, 'key.txt'), `${identity}\n`, { mode: 0o600 });
    const cfg = path.join(etc, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ localDir: 'archives', encryption: { recipients: [await identityToRecipient(identity)], identityFile: 'key.txt' } }));
    // runCli works in the repository, not in etc/bri.
    const created = await runCli(['archive', 'create', '-d', dir, '--config', cfg, '-q'], { BRI_AGE_IDENTITY: '' });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(fs.readdirSync(path.join(etc, 'archives')).filter((f) => f.endsWith('.bri'))).toHaveLength(1);
    const target = path.join(root, 'restored');
    const restored = await runCli(['restore', 'latest', '-d', dir, '--config', cfg, '--target', target, '-q'], { BRI_AGE_IDENTITY: '' });
    expect(besideOriginalUnsaid(restored.stderr)).toBe('');
    expect(restored.code).toBe(0);
    const db = await createDB({ storeConfig: { dataDir: target } });
    expect(await db.get('A')).toEqual({ a: 1 });
    await db.close();
  });

  it('encryption.identityFile holding the key itself (as the API takes it) is used as the key, not resolved as a path beside the file', async () => {
    const root = await makeTempDir('bri-config-paths-');
    const dir = await dataDirWithOneDoc(root);
    const identity = await generateIdentity();
    const cfg = path.join(root, 'c.json');
    fs.writeFileSync(cfg, JSON.stringify({ encryption: { recipients: [await identityToRecipient(identity)], identityFile: identity } }));
    const created = await runCli(['archive', 'create', '-d', dir, '--config', cfg, '-q'], { BRI_AGE_IDENTITY: '' });
    expect(created.code, created.stderr).toBe(0);
    const target = path.join(root, 'restored');
    const restored = await runCli(['restore', 'latest', '-d', dir, '--config', cfg, '--target', target, '-q'], { BRI_AGE_IDENTITY: '' });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).not.toMatch(/AGE-SECRET-KEY/);
  });

  it('a gcs keyFilename and a local path are relative to the file; absolute ones stay as they are', async () => {
    const root = await makeTempDir('bri-config-paths-');
    const cfg = path.join(root, 'c.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        remote: { provider: 'gcs', bucket: 'bri-test', keyFilename: 'sa.json' },
        remotes: [{ provider: 'local', path: 'nas' }, { provider: 'gcs', name: 'g2', bucket: 'bri-test', keyFilename: '/etc/sa.json' }],
      }),
    );
    const c = loadArchiveConfigFile(cfg) as { remote: { keyFilename: string }; remotes: Array<{ path?: string; keyFilename?: string }> };
    expect(c.remote.keyFilename).toBe(path.join(root, 'sa.json'));
    expect(c.remotes[0]!.path).toBe(path.join(root, 'nas'));
    expect(c.remotes[1]!.keyFilename).toBe('/etc/sa.json');
  });
});

describe('the file itself', () => {
  it('a byte order mark before the JSON (editors on Windows write one) is read past, not "not valid JSON"', async () => {
    const dir = await makeTempDir();
    const file = path.join(dir, 'bri.json');
    fs.writeFileSync(file, '\ufeff' + JSON.stringify({ localDir: 'arch' }));
    expect(loadArchiveConfigFile(file).localDir).toBe(path.join(dir, 'arch'));
  });
});
