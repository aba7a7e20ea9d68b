import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBriError, type BriError } from '../../src/errors.js';
import { createRemote, lifecycleFromConfig, parseRemoteConfig, PROVIDERS } from '../../src/remote/registry.js';

function configError(input: unknown): BriError {
  try {
    parseRemoteConfig(input);
  } catch (err) {
    if (isBriError(err, 'CONFIG_INVALID')) return err;
    throw err;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('parseRemoteConfig', () => {
  it('knows four providers', () => {
    expect([...PROVIDERS].sort()).toEqual(['azure', 'gcs', 'local', 's3']);
  });

  it('accepts minimal and full configurations', () => {
    expect(parseRemoteConfig({ provider: 'local', path: '/tmp/x' }).provider).toBe('local');
    parseRemoteConfig({ provider: 's3', bucket: 'my-bucket', region: 'eu-west-1', prefix: 'bri/', storageClass: 'STANDARD_IA', glacierAfterDays: 30, retentionDays: 365 });
    parseRemoteConfig({ provider: 's3', bucket: 'b12', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    parseRemoteConfig({ provider: 'gcs', bucket: 'b12', keyFilename: '/etc/key.json', storageClass: 'NEARLINE' });
    parseRemoteConfig({ provider: 'azure', container: 'backups', connectionString: 'UseDevelopmentStorage=true', accessTier: 'Cool' });
    parseRemoteConfig({ provider: 'azure', container: 'backups', accountName: 'acct1', accountKey: 'a2V5' });
    parseRemoteConfig({ provider: 'azure', container: 'backups', endpoint: 'https://acct1.blob.core.windows.net', sasToken: '?sv=1&sig=x' });
    parseRemoteConfig({ provider: 'local', path: '/x', retry: false });
    parseRemoteConfig({ provider: 'local', path: '/x', retry: { maxAttempts: 3 } });
  });

  it('names the offending key', () => {
    const cases: Array<[unknown, RegExp, string]> = [
      [{ provider: 's3' }, /remote\.s3\.bucket: is required/, 'bucket'],
      [{ provider: 's3', bucket: 'Not_Valid' }, /remote\.s3\.bucket/, 'bucket'],
      [{ provider: 's3', bucket: 'ok-bucket', regoin: 'x' }, /unknown key\(s\) 'regoin'/, 'regoin'],
      [{ provider: 's3', bucket: 'ok-bucket', endpoint: 'ftp://x' }, /remote\.s3\.endpoint: must be an http\(s\) URL/, 'endpoint'],
      [{ provider: 's3', bucket: 'ok-bucket', credentials: { accessKeyId: 'a' } }, /remote\.s3\.credentials\.secretAccessKey: is required/, 'credentials.secretAccessKey'],
      [{ provider: 'gcs', bucket: 'ok-bucket', credentials: { client_email: 'a', private_key: 'b' }, keyFilename: '/k' }, /credentials or keyFilename/, 'credentials'],
      [{ provider: 'azure', container: 'ok-container' }, /exactly one of connectionString, accountKey or sasToken/, 'connectionString'],
      [{ provider: 'azure', container: 'ok-container', accountKey: 'k' }, /accountKey needs accountName/, 'accountName'],
      [{ provider: 'azure', container: 'Bad--Name', connectionString: 'x' }, /remote\.azure\.container/, 'container'],
      [{ provider: 'azure', container: 'ok-container', connectionString: 'x', accessTier: 'Frozen' }, /remote\.azure\.accessTier/, 'accessTier'],
      [{ provider: 'local' }, /remote\.local\.path: is required/, 'path'],
      [{ provider: 'local', path: '/x', prefix: 'a/../b' }, /remote\.local\.prefix/, 'prefix'],
      [{ provider: 'local', path: '/x', retentionDays: 0 }, /remote\.local\.retentionDays/, 'retentionDays'],
      [{ provider: 'ftp' }, /remote\.provider: must be one of 'local', 's3', 'gcs', 'azure'/, 'provider'],
      [null, /remote/, '(root)'],
    ];
    for (const [input, re, key] of cases) {
      const err = configError(input);
      expect(err.message, JSON.stringify(input)).toMatch(re);
      expect(err.details.key, JSON.stringify(input)).toBe(key);
      expect(err.hint).toBeTruthy();
    }
  });

  it('lifecycleFromConfig maps glacierAfterDays and retentionDays', () => {
    expect(lifecycleFromConfig(parseRemoteConfig({ provider: 'local', path: '/x' }))).toBeUndefined();
    expect(lifecycleFromConfig(parseRemoteConfig({ provider: 's3', bucket: 'b12', glacierAfterDays: 30, retentionDays: 365 }))).toEqual({ transitionAfterDays: 30, expireAfterDays: 365 });
  });
});

describe('createRemote', () => {
  it('builds a working store from a config and loads no SDK until used', async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-registry-'));
    try {
      const store = createRemote({ provider: 'local', path: root, prefix: 'p' });
      expect(store.describe()).toMatchObject({ provider: 'local', prefix: 'p/', path: root });
      const f = path.join(root, 'src.txt');
      await fsp.writeFile(f, 'abc');
      const sha = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
      await store.put('k', { path: f }, { size: 3, sha256: sha });
      expect((await store.head('k')).checksums.sha256).toBe(sha);
      // Cloud providers: constructing them is cheap and offline.
      expect(createRemote({ provider: 's3', bucket: 'b12' }).describe()).toMatchObject({ provider: 's3', location: 's3://b12/' });
      expect(createRemote({ provider: 'gcs', bucket: 'b12', prefix: '/x/' }).describe()).toMatchObject({ provider: 'gcs', location: 'gs://b12/x/' });
      expect(createRemote({ provider: 'azure', container: 'c12', accountName: 'acct1', accountKey: 'a2V5' }).describe()).toMatchObject({
        provider: 'azure',
        account: 'acct1',
        endpoint: 'https://acct1.blob.core.windows.net',
      });
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
