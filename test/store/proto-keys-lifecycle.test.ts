/**
 * A document, a set or a field named `__proto__` (BRI writes such lines) is kept through every
 * path that reads a snapshot: the store's own snapshot and reopen, an archive's snapshot member
 * (a later archive, time travel at a moment it covers), restore latest and data dump. It was read
 * back through an object assignment, which set the prototype and dropped it in silence.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { appendLinesAt } from '../support/bri-lines.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-proto-keys-');
const T0 = 1750000000000;
const FIELD_DOC = '{"__proto__":{"x":1},"y":2}';

type Db = Awaited<ReturnType<typeof createDB>>;

function expectProtoKept(db: Db, where: string): void {
  expect(db.getRaw('__proto__'), where).toBe('"v"');
  expect(db.sMembers('__proto__'), where).toEqual(['m']);
  expect(db.getRaw('F'), where).toBe(FIELD_DOC);
  expect(Object.keys(db.get('F') as object), where).toEqual(['__proto__', 'y']);
}

describe('keys named __proto__ through the lifecycle', () => {
  it('a WAL line SET "__proto__" as BRI writes it survives the store snapshot, a second archive, time travel after it, restore latest and data dump', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(path.join(dataDir, 'wal'), { recursive: true });
    const seg = path.join(dataDir, 'wal', '000000.wal');
    let prev = appendLinesAt(T0, seg, '', [
      [0, { action: 'SET', target: '__proto__', value: '"v"' }],
      [10, { action: 'SADD', target: '__proto__', member: 'm' }],
      [20, { action: 'SET', target: 'F', value: FIELD_DOC }],
    ]);
    let db = await createDB({ storeConfig: { dataDir } });
    expectProtoKept(db, 'replayed from the WAL');
    await db.archive.create();
    await db.createSnapshot();
    await db.close();
    db = await createDB({ storeConfig: { dataDir } });
    expectProtoKept(db, 'reopened from its own snapshot');
    await db.close();
    // A second archive starts from a snapshot member holding the key: time travel into it reads that member.
    const last = path.join(dataDir, 'wal', fs.readdirSync(path.join(dataDir, 'wal')).sort().at(-1)!);
    prev = appendLinesAt(T0, last, prev, [[30, { action: 'SET', target: 'B', value: '"b"' }]]);
    db = await createDB({ storeConfig: { dataDir } });
    await db.archive.create();
    await db.close();
    const show = await runCli(['archive', 'show', '--at', String(T0 + 35), '-d', dataDir, '--', '__proto__']);
    expect(show.stdout.trim(), show.stderr).toBe('"v"\n{m}'); // the document, then the set
    const target = path.join(root, 'restored');
    const restore = await runCli(['restore', 'latest', '-d', dataDir, '--target', target]);
    expect(restore.code, restore.stderr).toBe(0);
    db = await createDB({ storeConfig: { dataDir: target } });
    expectProtoKept(db, 'restored');
    await db.close();
    const dump = await runCli(['data', 'dump', '-d', target]);
    expect(dump.code, dump.stderr).toBe(0);
    const plain = JSON.parse(dump.stdout) as { documents: Record<string, string>; collections: Record<string, string[]> };
    expect(Object.getOwnPropertyDescriptor(plain.documents, '__proto__')?.value).toBe('"v"');
    expect(Object.getOwnPropertyDescriptor(plain.collections, '__proto__')?.value).toEqual(['m']);
  });

  it('set(), sAdd() and a field named __proto__ are stored, and read back after close and reopen', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('__proto__', '"v"');
    await db.sAdd('__proto__', 'm');
    await db.set('F', JSON.parse(FIELD_DOC) as object);
    expectProtoKept(db, 'written');
    await db.close();
    const again = await createDB({ storeConfig: { dataDir } });
    expectProtoKept(again, 'reopened');
    await again.close();
  });
});
