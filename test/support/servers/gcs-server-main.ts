/**
 * Child process: the GCS JSON API test server on 127.0.0.1.
 *   node --import tsx gcs-server-main.ts --port N --dir DIR --buckets a,b [--forbidden c]
 * Prints `GCS READY <port>` once listening.
 */
import { createGcsServer } from './gcs-server.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}
const list = (s: string): string[] => s.split(',').filter((x) => x !== '');

const { server, port } = await createGcsServer({
  root: arg('dir'),
  port: Number(arg('port', '0')),
  buckets: list(arg('buckets', 'bri-test')),
  forbiddenBuckets: list(arg('forbidden', '')),
});
process.stdout.write(`GCS READY ${port}\n`);
const stop = (): void => {
  void server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
