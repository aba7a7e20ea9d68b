/**
 * A store's connection limits after close() (src/remote/timeouts.ts): a library's own retry of a
 * request we gave up on opens a connection after the store closed. It is refused, and that must
 * not take the process down (the tests elsewhere turn the libraries' retries off, so never see it).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRemote } from '../../src/remote/registry.js';
import { collectLines, spawnTs, waitExit } from '../support/child.js';
import { startGcsServer, type GcsTestServer } from '../support/servers/gcs.js';
import { useTempDirs } from '../support/temp-dirs.js';

process.env.METADATA_SERVER_DETECTION = 'none';
const CHILD = path.join(import.meta.dirname, 'children', 'gcs-closed-retry-child.ts');
const tempDir = useTempDirs('bri-closed-store-');
let server: GcsTestServer;

beforeAll(async () => {
  server = await startGcsServer(['bri-test']);
}, 30_000);
afterAll(async () => {
  await server?.dispose();
});

it('gcs: downloads cut by the idle timeout with the library retries on (its default), store closed: the library retry after close() does not kill the process', async () => {
  const data = randomBytes(3 * 1024 * 1024);
  const file = path.join(await tempDir(), 'big.bin');
  await fsp.writeFile(file, data);
  const store = createRemote({ provider: 'gcs', bucket: 'bri-test', endpoint: server.endpoint, projectId: 'test' });
  await store.put('big.bin', { path: file }, { size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
  await store.close();

  const child = spawnTs(CHILD, [server.endpoint, 'bri-test', 'big.bin', '2'], { METADATA_SERVER_DETECTION: 'none' });
  const lines: string[] = [];
  let stderr = '';
  collectLines(child, (line) => lines.push(line));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const { code } = await waitExit(child);
  expect(stderr).not.toMatch(/Unhandled|the store was closed/);
  expect(lines.at(-1)).toBe('SURVIVED');
  expect(code).toBe(0);
  // At least one download was cut (the case under test), and each round ended in an answer.
  expect(lines.filter((l) => l === 'failed REMOTE_ERROR').length).toBeGreaterThan(0);
  expect(lines.slice(0, -1).every((l) => l === 'read' || l === 'failed REMOTE_ERROR')).toBe(true);
}, 60_000);
