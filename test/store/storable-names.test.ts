/**
 * What the store accepts, it reads back after close() (found by writing awkward names through whole
 * lifecycles): a key, set name or field the snapshot cannot hold is refused at set() with a typed
 * error, instead of a directory that no longer opens or a document that silently changes; keys and
 * fields holding '/' with shared references read back as written.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { decodeJss } from '../../src/format/jss.js';
import { recover } from '../../src/store/recovery.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-names-');

describe('names and shapes the snapshot must hold', () => {
  it('a non-string key, renamed key, set name or member from plain JS is USAGE and nothing is written: never a line acknowledged that reopen and archive then refuse', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('A', { v: 1 });
    await db.sAdd('S', 'm');
    const lines = db.info().totalLines;
    const loose = db as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const refused: unknown[][] = [
      ['rename', undefined, 'B'], ['rename', 'A', 5], ['sAdd', 'S', 5], ['sAdd', 'S', { a: 1 }], ['sAdd', 'S', null], ['sRem', 'S', undefined],
      ['sAdd', 7, 'm'], ['set', 123, { v: 1 }], ['set', undefined, { v: 1 }], ['delete', undefined], ['delete', null], ['sRem', ['S'], 'm'],
    ];
    for (const [method, ...args] of refused) {
      await expect(loose[method as string]!.apply(db, args), `${String(method)}(${args.map((a) => JSON.stringify(a)).join(', ')})`).rejects.toMatchObject({ code: 'USAGE', hint: expect.stringMatching(/strings/) });
    }
    expect(db.info().totalLines).toBe(lines);
    expect(db.sMembers('S')).toEqual(['m']);
    // The directory stays one every later step takes: it archives, and reopens to the same state.
    await db.archive.create();
    await db.close();
    const again = await createDB({ storeConfig: { dataDir } });
    expect(again.get('A')).toEqual({ v: 1 });
    expect(again.sMembers('S')).toEqual(['m']);
    await again.close();
  });

  it('a key, set name or field ending in a JSS tag is JSS_INVALID at set(), and the directory still opens (__proto__ is kept: proto-keys-lifecycle)', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('OK', { v: 1 });
    const refused: Array<() => Promise<unknown>> = [
      () => db.set('x<!S>', { v: 1 }),
      () => db.set('a<!foo>', { v: 1 }),
      () => db.set('a<!>', { v: 1 }),
      () => db.sAdd('s<!D>', 'm'),
      () => db.rename('OK', 'y<!D>'),
      () => db.set('K', { 'a<!D>': 'str' }),
    ];
    for (const call of refused) await expect(call()).rejects.toMatchObject({ code: 'JSS_INVALID' });
    // Under a tag of its own such a field reads back right (BRI writes `"a<!U><!D>":ms`): it is kept.
    await db.set('T', { 'a<!U>': new Date(5) });
    expect(db.get('T')).toEqual({ 'a<!U>': new Date(5) });
    await db.close();
    const again = await createDB({ storeConfig: { dataDir } });
    expect(again.get('OK')).toEqual({ v: 1 });
    expect(again.get('K')).toBeUndefined();
    expect(again.get('T')).toEqual({ 'a<!U>': new Date(5) });
    await again.close();
  });

  it("keys and fields holding '/' with shared references read back as written, after a reopen too", async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    const shared = { s: 1 };
    await db.set('a', { secret: 'of document a' });
    await db.set('a/b', { x: shared, y: shared });
    const inner = { deep: true };
    await db.set('K', { 'p/q': inner, z: inner, w: { 'p/': inner } });
    expect(db.get('a/b')).toEqual({ x: { s: 1 }, y: { s: 1 } });
    expect(db.get('K')).toEqual({ 'p/q': { deep: true }, z: { deep: true }, w: { 'p/': { deep: true } } });
    await db.close();
    // Recovery from the snapshot decodes the same documents (its pointers may sit elsewhere in the text).
    const docs = (await recover(dataDir)).state.documents;
    expect(decodeJss(docs.get('a/b')!)).toEqual({ x: { s: 1 }, y: { s: 1 } });
    expect(decodeJss(docs.get('a')!)).toEqual({ secret: 'of document a' });
    const again = await createDB({ storeConfig: { dataDir } });
    expect(again.get('a/b')).toEqual({ x: { s: 1 }, y: { s: 1 } });
    expect(again.get('K')).toEqual({ 'p/q': { deep: true }, z: { deep: true }, w: { 'p/': { deep: true } } });
    await again.close();
  });

  it('a document nested deeper than JSS can encode is JSS_INVALID at set(), not an untyped RangeError', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 20_000; i++) deep = (deep.n = {}) as Record<string, unknown>;
    await expect(db.set('DEEP', root)).rejects.toMatchObject({ code: 'JSS_INVALID' });
    await db.close();
  });
});

describe('the cold tier', () => {
  it('a cold document deleted, or renamed away, stays gone after the snapshot and the next open (its cold file goes once a snapshot without it is durable)', async () => {
    const fsp = await import('node:fs/promises');
    const dataDir = path.join(await tmp(), 'data');
    const db0 = await createDB({ storeConfig: { dataDir } });
    await db0.close();
    await fsp.mkdir(path.join(dataDir, 'cold', 'USER'), { recursive: true });
    await fsp.writeFile(path.join(dataDir, 'cold', 'USER', 'abc.jss'), '{"name":"Ada"}');
    await fsp.writeFile(path.join(dataDir, 'cold', 'USER', 'empty.jss'), '{"name":"Bo"}');
    const db = await createDB({ storeConfig: { dataDir } });
    expect(db.get('USER_abc')).toEqual({ name: 'Ada' });
    await db.delete('USER_abc');
    await db.rename('USER_empty', 'USER_moved');
    await db.close();
    const again = await createDB({ storeConfig: { dataDir } });
    expect(again.get('USER_abc')).toBeUndefined();
    expect(again.get('USER_empty')).toBeUndefined();
    expect(again.get('USER_moved')).toEqual({ name: 'Bo' });
    await again.close();
  });
});
