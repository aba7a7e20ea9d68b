/**
 * Child process: an s3rver on 127.0.0.1.
 *   node --import tsx s3rver-main.ts --port N --dir DIR --buckets a,b
 * Prints `S3RVER READY <port>` once listening. Credentials: S3RVER / S3RVER.
 */
import { createRequire } from 'node:module';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (opts: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverCtor;

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(arg('port')),
  silent: true,
  directory: arg('dir'),
  vhostBuckets: false,
  configureBuckets: arg('buckets', 'bri-test')
    .split(',')
    .filter((b) => b !== '')
    .map((name) => ({ name })),
});

const { port } = await server.run();
process.stdout.write(`S3RVER READY ${port}\n`);
const stop = (): void => {
  void server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
