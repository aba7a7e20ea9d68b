/**
 * close() (and stopShipping()) with a remote down: the last lines were never shipped, and close() resolved,
 * telling the app its shutdown left every line on the remotes. It now closes everything all the same and then
 * rejects REMOTE_ERROR naming the remote and the line it reached, as flushShipping() does.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const root = useTempDirs('bri-close-short-');

async function shippingDb(r: string) {
  const nas = path.join(r, 'nas');
  await fsp.mkdir(nas);
  const dataDir = path.join(r, 'data');
  const archive = { remotes: [{ provider: 'local' as const, name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 20 }, compression: { level: 1 } };
  const db = await createDB({ storeConfig: { dataDir, archive } });
  for (let i = 0; i < 10; i++) await db.set(`K${i}`, { i });
  await db.archive.flushShipping();
  return { db, nas, dataDir, archive };
}

describe('closing a database whose remote is down', () => {
  it('close() closes the store and rejects REMOTE_ERROR naming the remote short of the last lines; the lines stay in wal/ and ship once it is back', async () => {
    const r = await root();
    const { db, nas, dataDir, archive } = await shippingDb(r);
    await fsp.rename(nas, `${nas}.away`);
    for (let i = 0; i < 10; i++) await db.set(`L${i}`, { i });
    const err = await db.close().then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'REMOTE_ERROR', details: { sources: ['nas'] } });
    expect((err as Error).message).toMatch(/^stopShipping: nas is 10 lines behind, through line 10 of 20/);
    // Closed all the same: the directory opens again, and with the remote back the lines ship.
    await fsp.rename(`${nas}.away`, nas);
    const again = await createDB({ storeConfig: { dataDir, archive } });
    expect(await again.get('L9')).toEqual({ i: 9 });
    await again.archive.flushShipping();
    await again.close();
  }, 60_000);

  it('close() resolves when every line written is on the remote', async () => {
    const r = await root();
    const { db } = await shippingDb(r);
    await db.set('LAST', { v: 1 });
    await expect(db.close()).resolves.toBeUndefined();
  }, 60_000);
});
