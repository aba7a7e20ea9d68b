/**
 * A remote's prefix that the store cannot hold below it is refused when the configuration is read
 * (CONFIG_INVALID naming the remote, `prefix` and the limit), not by every upload for ever with "the next
 * create tries again". Each provider's own limits: a local remote's file names (NAME_MAX) and paths
 * (PATH_MAX), S3's and GCS's 1024-byte names, Azure's 1024 characters and 254 parts. Real CLI, real files.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBriError, type BriError } from '../../src/errors.js';
import { archiveObjectKey } from '../../src/archive/copies/sources.js';
import { shipmentKey } from '../../src/archive/shipping/shipment.js';
import { LOCAL_NAME_OVERHEAD_BYTES, LONGEST_BRI_KEY_BYTES, MOST_BRI_KEY_SEGMENTS, validateKey } from '../../src/remote/keys.js';
import { createLocalRemote } from '../../src/remote/local.js';
import { parseRemoteConfig } from '../../src/remote/registry.js';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tempDir = useTempDirs('bri-prefix-fits-');

function configError(input: unknown): BriError {
  try {
    parseRemoteConfig(input);
  } catch (err) {
    if (isBriError(err, 'CONFIG_INVALID')) return err;
    throw err;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('a prefix no archive fits below', () => {
  it('a local remote with a 300-byte prefix part: archive create and upload refuse the configuration, naming the remote and prefix, and write nothing', async () => {
    const root = await tempDir();
    const dataDir = path.join(root, 'db');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    await db.set('A', { a: 1 });
    await db.close();
    await fsp.mkdir(path.join(root, 'nas'));
    const config = path.join(root, 'c.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: path.join(root, 'nas'), prefix: 'p'.repeat(300) }] }));
    for (const args of [['archive', 'create', '-d', dataDir, '-c', config, '-q'], ['archive', 'upload', '-d', dataDir, '-c', config]]) {
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/CONFIG_INVALID/);
      expect(r.stderr).toMatch(/remotes\[0\]\.local\.prefix \(remote 'nas'\): .*300 bytes.*255 bytes \(NAME_MAX\)/);
      expect(r.stderr).not.toMatch(/tries again|ENAMETOOLONG/);
    }
    expect(await fsp.readdir(path.join(root, 'nas'))).toEqual([]);
  }, 60_000);

  it('a local remote whose prefix leaves no room for an archive\'s path within PATH_MAX is refused; one that does is taken', async () => {
    const root = path.resolve(await tempDir());
    const part = 'p'.repeat(250);
    const deep = Array.from({ length: 20 }, () => part).join('/');
    const e = configError({ provider: 'local', path: root, prefix: deep });
    expect(e.message).toMatch(/local\.prefix: .*paths would be up to \d+ bytes; a path is at most \d+ bytes \(PATH_MAX\)/);
    const budget = Number(/at most (\d+) bytes\./.exec(e.hint ?? '')?.[1]);
    expect(budget).toBeGreaterThan(0);
    const fits = deep.slice(0, budget).replace(/\/$/, 'q');
    expect(parseRemoteConfig({ provider: 'local', path: root, prefix: fits }).prefix).toBe(fits);
    expect(() => parseRemoteConfig({ provider: 'local', path: root, prefix: deep.slice(0, budget + 1).replace(/\/$/, 'q') })).toThrow(/PATH_MAX/);
    // The local remote's path itself: each part a file name.
    expect(configError({ provider: 'local', path: path.join(root, 'x'.repeat(256)) }).message).toMatch(/local\.path: the path's part .* is 256 bytes/);
    // The store made directly (the API) refuses it too.
    expect(() => createLocalRemote({ path: root, prefix: 'p'.repeat(256) })).toThrow(/NAME_MAX/);
  });

  it('S3 and GCS: the prefix and bri\'s longest key within 1024 bytes; Azure: within 1024 characters and 254 parts', () => {
    const s3 = { provider: 's3', bucket: 'bkt', endpoint: 'http://127.0.0.1:9' };
    const gcs = { provider: 'gcs', bucket: 'bkt', endpoint: 'http://127.0.0.1:9' };
    const azure = { provider: 'azure', container: 'bkt', connectionString: 'UseDevelopmentStorage=true' };
    const budget = 1024 - LONGEST_BRI_KEY_BYTES - 1; // the prefix's '/' before the key
    for (const c of [s3, gcs]) {
      expect(parseRemoteConfig({ ...c, prefix: 'a'.repeat(budget) }).provider).toBe(c.provider);
      const e = configError({ ...c, name: 'cloud', prefix: 'a'.repeat(budget + 1) });
      expect(e.message).toMatch(new RegExp(`^remote\\.${c.provider}\\.prefix \\(remote 'cloud'\\): .*would be 1025 bytes; .* is 1024 bytes`));
      expect(e.hint).toBe(`Give a prefix of at most ${budget} bytes.`);
      expect(e.details).toMatchObject({ key: 'prefix', limit: 1024 });
    }
    // Azure counts characters: 2-byte characters fit where S3 refuses them.
    const wide = 'é'.repeat(budget);
    expect(parseRemoteConfig({ ...azure, prefix: wide }).provider).toBe('azure');
    expect(configError({ ...s3, prefix: wide }).message).toMatch(/S3's longest object key is 1024 bytes/);
    expect(configError({ ...azure, prefix: 'é'.repeat(budget + 1) }).message).toMatch(/1025 characters; Azure's longest blob name is 1024 characters/);
    const parts = (n: number) => Array.from({ length: n }, () => 'd').join('/');
    expect(parseRemoteConfig({ ...azure, prefix: parts(254 - MOST_BRI_KEY_SEGMENTS) }).provider).toBe('azure');
    const many = configError({ ...azure, prefix: parts(255 - MOST_BRI_KEY_SEGMENTS) });
    expect(many.message).toMatch(/255 '\/'-separated parts; Azure takes at most 254/);
    expect(many.hint).toBe(`Give a prefix of at most ${254 - MOST_BRI_KEY_SEGMENTS} '/'-separated parts.`);
    // GCS refuses names under .well-known/acme-challenge/.
    expect(configError({ ...gcs, prefix: '.well-known/acme-challenge' }).message).toMatch(/GCS refuses object names starting with/);
  });

  it('a key is checked with its store\'s prefix: the 1024 bytes are the whole name\'s', () => {
    const store = { provider: 's3' as const, prefix: `${'a'.repeat(900)}/` };
    expect(validateKey('k'.repeat(123), store)).toHaveLength(123);
    expect(() => validateKey('k'.repeat(124), store)).toThrow(/would be 1025 bytes/);
  });

  it('the longest keys bri writes are within LONGEST_BRI_KEY_BYTES and MOST_BRI_KEY_SEGMENTS, and a local store names them under NAME_MAX', () => {
    const archive = archiveObjectKey(`A${'b'.repeat(127)}`);
    const shipment = shipmentKey(`a${'b'.repeat(63)}`, 1_000_000_000_000_000, 2_000_000_000_000_000, true);
    expect(Buffer.byteLength(archive)).toBe(LONGEST_BRI_KEY_BYTES);
    expect(Buffer.byteLength(shipment)).toBeLessThanOrEqual(LONGEST_BRI_KEY_BYTES);
    expect(Math.max(archive.split('/').length, shipment.split('/').length)).toBe(MOST_BRI_KEY_SEGMENTS);
    expect(Buffer.byteLength(path.basename(archive)) + LOCAL_NAME_OVERHEAD_BYTES).toBeLessThanOrEqual(255);
  });
});
