/**
 * Azurite (blob service only) for the tests: `azurite-blob` from
 * node_modules as a child process on a free port of 127.0.0.1, data in a
 * temporary directory, no telemetry. The account is Azurite's well-known
 * development account.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, REPO_ROOT, spawnServer, type RunningServer } from './spawn-server.js';

export const AZURITE_ACCOUNT = 'devstoreaccount1';
/** Azurite's published development key (not a secret: it is in Azurite's README). */
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer extends RunningServer {
  /** Blob endpoint including the account path: http://127.0.0.1:PORT/devstoreaccount1 */
  blobEndpoint: string;
  connectionString: string;
  dir: string;
  dispose(): Promise<void>;
}

/** Starts Azurite; pass `port` and `dir` to bring one back up where a killed one was. */
export async function startAzurite(port0?: number, dir0?: string): Promise<AzuriteServer> {
  const dir = dir0 ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-azurite-')));
  const port = port0 ?? (await freePort());
  const bin = path.join(REPO_ROOT, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
  const server = await spawnServer({
    command: process.execPath,
    args: [bin, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', dir, '--skipApiVersionCheck', '--disableTelemetry', '--silent'],
    port,
    timeoutMs: 60_000,
  });
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    ...server,
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    dir,
    dispose: async () => {
      await server.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
