/**
 * Under --json stderr carries JSON only: a failed upload, a failed after-hook, warnings and "trying the
 * next source" went there as plain text while README promises one JSON document per error. What the
 * stdout document already holds (uploads[].error, hookErrors, skipped) is not said again; what happens
 * along the way (a source passed over) is a {"warning": ...} line.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-json-stderr-');

/** Every non-empty stderr line parsed as JSON (throws on one that is not). */
function jsonLines(stderr: string): Array<Record<string, unknown>> {
  return stderr.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A port nothing listens on: a remote that is down. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('stderr under --json', () => {
  it('archive create with its remote down and a failing after-hook: stderr has no plain text, the document holds the failed upload and the hook', async () => {
    const dir = await tmp();
    const dataDir = path.join(dir, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('A', { a: 1 });
    await db.close();
    const remote = { provider: 's3', bucket: 'bkt', endpoint: `http://127.0.0.1:${await closedPort()}`, forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, region: 'us-east-1', retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 20 }, timeouts: { connectMs: 500, idleMs: 1000 } };
    const config = path.join(dir, 'bri.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [remote], hooks: { afterArchive: 'exit 3' } }));
    const r = await runCli(['archive', 'create', '-d', dataDir, '-c', config, '--json']);
    expect(r.code, r.stderr).not.toBe(0);
    expect(jsonLines(r.stderr)).toEqual([]);
    const doc = JSON.parse(r.stdout) as { uploads: Array<{ outcome: string; error?: { code: string } }>; hookErrors: string[] };
    expect(doc.uploads[0]).toMatchObject({ outcome: 'failed', error: { code: 'REMOTE_ERROR' } });
    expect(doc.hookErrors).toEqual([expect.stringContaining('afterArchive')]);
    // Without --json a person still reads them on stderr.
    const db2 = await createDB({ storeConfig: { dataDir } });
    await db2.set('B', { b: 1 });
    await db2.close();
    const text = await runCli(['archive', 'create', '-d', dataDir, '-c', config]);
    expect(text.stderr).toMatch(/upload of .* FAILED: \[REMOTE_ERROR\]/);
    expect(text.stderr).toMatch(/^hook failed: afterArchive/m);
  }, 60_000);

  it('restore and history passing over a ruined copy say so as {"warning": ...} lines under --json', async () => {
    const dir = await tmp();
    const dataDir = path.join(dir, 'data');
    const [nas, nas2] = [path.join(dir, 'nas'), path.join(dir, 'nas2')];
    await fsp.mkdir(nas);
    await fsp.mkdir(nas2);
    const config = path.join(dir, 'bri.json');
    await fsp.writeFile(config, JSON.stringify({ remotes: [{ provider: 'local', name: 'nas', path: nas }, { provider: 'local', name: 'nas2', path: nas2 }], restoreSources: ['nas', 'nas2'] }));
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 20; i++) await db.set(`K${i}`, { i, pad: 'x'.repeat(100) });
    await db.close();
    const created = await runCli(['archive', 'create', '-d', dataDir, '-c', config, '--json']);
    expect(created.code, created.stderr).toBe(0);
    const id = (JSON.parse(created.stdout) as { archiveId: string }).archiveId;
    // Ruin nas's copy: far more than PAR2 can rebuild.
    const ruined = path.join(nas, 'archives', `${id}.bri`);
    const size = fs.statSync(ruined).size;
    const fh = await fsp.open(ruined, 'r+');
    await fh.write(Buffer.alloc(Math.floor(size * 0.6), 0x5a), 0, Math.floor(size * 0.6), Math.floor(size * 0.2));
    await fh.close();

    const restored = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', path.join(dir, 'restored'), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(jsonLines(restored.stderr)).toEqual([{ warning: expect.objectContaining({ source: 'nas', message: expect.stringMatching(/^nas: .*; trying the next source$/) }) }]);
    expect((JSON.parse(restored.stdout) as { source: string }).source).toBe('nas2');

    const history = await runCli(['archive', 'history', 'K1', '-d', dataDir, '-c', config, '--json']);
    expect(history.code, history.stderr).toBe(0);
    // The listing reads a copy written after its upload record for what it holds (6b65f02): history goes to nas2
    // without passing over nas; whatever it says on stderr is JSON warnings.
    for (const line of jsonLines(history.stderr)) expect(line).toEqual({ warning: expect.objectContaining({ source: 'nas' }) });
    expect(history.stdout).toContain('"SET"');
    const text = await runCli(['restore', 'latest', '-d', dataDir, '-c', config, '--target', path.join(dir, 'restored-text')]);
    expect(text.stderr).toMatch(/^nas: .*; trying the next source$/m);
  }, 90_000);
});
