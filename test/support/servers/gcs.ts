/** The GCS JSON API test server as a child process on a free port, with a temporary directory. */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, spawnServer, tsServerArgs, type RunningServer } from './spawn-server.js';

export interface GcsTestServer extends RunningServer {
  endpoint: string;
  dir: string;
  dispose(): Promise<void>;
}

/** Starts the server; pass `port` and `dir` to bring one back up where a killed one was (it keeps what it acknowledged). */
export async function startGcsServer(buckets: string[] = ['bri-test'], forbidden: string[] = [], port0?: number, dir0?: string): Promise<GcsTestServer> {
  const dir = dir0 ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'bri-gcs-')));
  const port = port0 ?? (await freePort());
  const { command, args } = tsServerArgs('gcs-server-main.ts', ['--port', String(port), '--dir', dir, '--buckets', buckets.join(','), '--forbidden', forbidden.join(',')]);
  const server = await spawnServer({ command, args, port, ready: /GCS READY/ });
  return {
    ...server,
    endpoint: `http://127.0.0.1:${port}`,
    dir,
    dispose: async () => {
      await server.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
