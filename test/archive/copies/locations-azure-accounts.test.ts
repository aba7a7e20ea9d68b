/**
 * Two Azure remotes are one location when their endpoints lead to one account, whatever the
 * credentials: a SAS token names no account, so the account is read from the endpoint (the host's
 * first label, or a path-style endpoint's first segment as on Azurite). Accepting a key remote and
 * a SAS remote on one container and prefix made "deleting one copy" delete the only one.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLocations } from '../../../src/archive/copies/locations.js';
import { createDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';
import { createRemote } from '../../../src/remote/registry.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-azlocations-');

const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const SAS = 'sv=2024-08-04&ss=b&srt=sco&sp=rwdlacup&se=2030-01-01T00%3A00%3A00Z&sig=abc%3D';
const AZURITE = 'http://127.0.0.1:19512/devstoreaccount1';

type AzureSettings = Record<string, string>;

/** The refusal message of two azure remotes on container ccc, prefix p, or null when accepted. */
function refusal(a: AzureSettings, b: AzureSettings): string | null {
  const place = (name: string, s: AzureSettings) => ({ setting: `remote '${name}'`, description: createRemote({ provider: 'azure', name, container: 'ccc', prefix: 'p', ...s }).describe() });
  try {
    checkLocations({ dataDir: '/nonexistent/data', archiveDir: '/nonexistent/data/archives', remotes: [place('a', a), place('b', b)] });
    return null;
  } catch (err) {
    expect(isBriError(err, 'CONFIG_INVALID'), String(err)).toBe(true);
    return (err as Error).message;
  }
}

describe('azure remotes are compared by the account their endpoint leads to', () => {
  it('a SAS remote and a key remote on one account, container and prefix are one location', () => {
    expect(refusal({ accountName: 'devstoreaccount1', accountKey: KEY, endpoint: AZURITE }, { endpoint: AZURITE, sasToken: SAS })).toMatch(/point at one location \(azure:\/\/devstoreaccount1\/ccc\/p\/\)/);
    expect(refusal({ accountName: 'acct', accountKey: KEY }, { endpoint: 'https://acct.blob.core.windows.net', sasToken: `?${SAS}` })).toMatch(/point at one location/);
    expect(refusal({ accountName: 'acct', sasToken: SAS }, { endpoint: 'https://ACCT.blob.core.windows.net/', sasToken: SAS })).toMatch(/point at one location/);
    expect(refusal({ connectionString: `BlobEndpoint=${AZURITE};SharedAccessSignature=${SAS}` }, { accountName: 'devstoreaccount1', accountKey: KEY, endpoint: AZURITE })).toMatch(/point at one location/);
    expect(refusal({ connectionString: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.windows.net` }, { endpoint: 'https://acct.blob.core.windows.net', sasToken: SAS })).toMatch(/point at one location/);
    // The read-only secondary and a private endpoint reach the same blobs.
    expect(refusal({ accountName: 'acct', accountKey: KEY }, { endpoint: 'https://acct-secondary.blob.core.windows.net', sasToken: SAS })).toMatch(/point at one location/);
    expect(refusal({ accountName: 'acct', accountKey: KEY }, { endpoint: 'https://acct.privatelink.blob.core.windows.net', sasToken: SAS })).toMatch(/point at one location/);
  });

  it('SAS remotes on two accounts are two locations, and each names its account', () => {
    expect(refusal({ endpoint: 'https://acctone.blob.core.windows.net', sasToken: SAS }, { endpoint: 'https://accttwo.blob.core.windows.net', sasToken: SAS })).toBeNull();
    expect(refusal({ endpoint: 'http://127.0.0.1:19512/acctone', sasToken: SAS }, { endpoint: 'http://127.0.0.1:19512/accttwo', sasToken: SAS })).toBeNull();
    expect(createRemote({ provider: 'azure', container: 'ccc', prefix: 'p', endpoint: 'https://acctone.blob.core.windows.net', sasToken: SAS }).describe().location).toBe('azure://acctone/ccc/p/');
  });

  it('an IPv4-mapped loopback address is the loopback server of that port', () => {
    const mapped = 'http://[::ffff:127.0.0.1]:19512/devstoreaccount1';
    expect(refusal({ accountName: 'devstoreaccount1', accountKey: KEY, endpoint: AZURITE }, { accountName: 'devstoreaccount1', accountKey: KEY, endpoint: mapped })).toMatch(/point at one location/);
    expect(refusal({ accountName: 'devstoreaccount1', accountKey: KEY, endpoint: 'http://localhost:19512/devstoreaccount1' }, { endpoint: mapped, sasToken: SAS })).toMatch(/point at one location/);
  });

  it('bri archive create with a key remote and a SAS remote on one container and prefix is refused (exit 2) before anything is written', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir, snapshotOnClose: false } });
    await db.set('a', { v: 1 });
    await db.close();
    const cfg = path.join(root, 'cfg.json');
    const remotes = [
      { provider: 'azure', name: 'azkey', container: 'bkt', accountName: 'devstoreaccount1', accountKey: KEY, endpoint: AZURITE, prefix: 'p' },
      { provider: 'azure', name: 'azsas', container: 'bkt', endpoint: AZURITE, sasToken: SAS, prefix: 'p' },
    ];
    await fsp.writeFile(cfg, JSON.stringify({ remotes }));
    const r = await runCli(['archive', 'create', '-d', dataDir, '-c', cfg, '--quiet']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/azsas.*azkey.*point at one location/);
    await expect(fsp.readdir(path.join(dataDir, 'archives')).catch(() => [])).resolves.toEqual([]);
  });
});
