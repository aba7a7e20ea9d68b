/**
 * A document set() accepts comes back byte for byte wherever it goes: after close and reopen, in an
 * archive restored, read back in time, verified. A version-2 snapshot wrote every stored string
 * decoded ('1' as 1, '"quoted"' as "quoted", '{ "a": 1 }' as {"a":1}), so some came back changed
 * and some made snapshot.jss unreadable (SNAPSHOT_CORRUPTED: the database no longer opened); a
 * cycle under a key holding '/' could not be written at all (close failed with JSS_INVALID).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { openRestore } from '../../src/archive/restore-api.js';
import { assertStorableName, encodeJss } from '../../src/format/jss.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/format/snapshot-file.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-strdocs-');

/** Stored strings that the decode and re-encode of a version-2 snapshot used to change or refuse. */
const AWKWARD = [
  '1', 'true', 'null', '"quoted"', '-0', '1e400', '', 'plain text', ' {}', '{ "a": 1 }', '[1, 2]',
  '{"__proto__":{"x":1}}', '{"a<!D>":"zz"}', '{"a<!P>":"b"}', '{"a<!U>":null}', '{"a":1,"a":2}', '{"x":1e400}',
  '{"x":-0}', '{"x":1.0}', '{"s<!S>":[1,1]}', '{"e<!E>":["Error","m",null]}', '{"a":"\\u2028"}', '{"a":"\\ud800"}',
  '{"d<!D>":1e20}', '{"a":{"b":1},"c<!P>":"a"}', '{"x":{"z<!P>":"x"}}', '{"a":1}', '{"d<!D>":5}',
];

/** A value for set(): a string of any kind (JSON or not, lone surrogates too) or an object. */
const value = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.tuple(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(1, '\t')).map(([v, space]) => JSON.stringify(v, null, space)),
  fc.constantFrom(...AWKWARD),
  fc.object({ maxDepth: 2, maxKeys: 3 }),
);

/** Sets each value at its key (every other one holding '/', which no pointer can name); what is refused is JSS_INVALID, and the stored strings of the rest are returned. */
async function setAll(db: Awaited<ReturnType<typeof createDB>>, values: Array<string | object>): Promise<Map<string, string>> {
  const stored = new Map<string, string>();
  for (const [i, v] of values.entries()) {
    const key = i % 2 === 0 ? `K${i}` : `K/${i}`;
    try {
      await db.set(key, v);
    } catch (err) {
      expect(err).toMatchObject({ code: 'JSS_INVALID' });
      continue;
    }
    stored.set(key, db.getRaw(key)!);
  }
  return stored;
}

const documentsOf = (db: Awaited<ReturnType<typeof createDB>>): Map<string, string> => new Map([...db.state.documents].filter(([k]) => k.startsWith('K')));

describe('string documents the snapshot stores as they are', () => {
  it('every value set() accepts reads back byte-identical after reopen, archive and restore latest, and at a time back (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 6 }), async (values) => {
        const root = await tmp();
        const dataDir = path.join(root, 'data');
        let db = await createDB({ storeConfig: { dataDir } });
        const stored = await setAll(db, values);
        await db.archive.create(); // its end snapshot holds every document
        const T = Date.now();
        await new Promise((r) => setTimeout(r, 5));
        await db.set('other', 'x');
        await db.close();
        db = await createDB({ storeConfig: { dataDir } });
        expect(documentsOf(db)).toEqual(stored);
        await db.archive.create(); // starts from the previous one's end snapshot
        for (const [k, v] of stored) expect((await db.restore.read(k, { at: T })).document).toBe(v);
        await db.close();
        const target = path.join(root, 'restored');
        await openRestore({ dataDir }).fromLatest({ targetDir: target });
        const restored = await createDB({ storeConfig: { dataDir: target } });
        expect(documentsOf(restored)).toEqual(stored);
        await restored.close();
      }),
      { numRuns: 15 },
    );
  }, 120_000);

  it('a database holding awkward string documents archives, verifies and dumps them as set (CLI)', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    const stored = await setAll(db, AWKWARD);
    expect(stored.size).toBe(AWKWARD.length);
    await db.close();
    const create = await runCli(['archive', 'create', '-d', dataDir]);
    expect(create.code, create.stderr).toBe(0);
    const verify = await runCli(['archive', 'verify', '--all', '-d', dataDir]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const dataVerify = await runCli(['data', 'verify', '-d', dataDir]);
    expect(dataVerify.code, dataVerify.stdout + dataVerify.stderr).toBe(0);
    const target = path.join(root, 'restored');
    const restore = await runCli(['restore', 'latest', '-d', dataDir, '--target', target]);
    expect(restore.code, restore.stderr).toBe(0);
    for (const dir of [dataDir, target]) {
      const dump = await runCli(['data', 'dump', '-d', dir, '--json']);
      expect(dump.code, dump.stderr).toBe(0);
      expect(JSON.parse(dump.stdout).documents).toEqual(Object.fromEntries(stored));
    }
  }, 120_000);

  it('a version-2 snapshot keeps a canonical JSS document as its object and any other stored string as that string', () => {
    const state = { documents: new Map([['o', '{"a":1}'], ['w', '{ "a": 1 }'], ['n', '1'], ['q', '"quoted"']]), collections: new Map() };
    const text = encodeSnapshot({ version: 2, walLine: 4, timestamp: 1700000000000, state });
    expect(text).toContain('"o":{"a":1}');
    expect(text).toContain('"w":"{ \\"a\\": 1 }"');
    expect(text).toContain('"n":"1"');
    expect(decodeSnapshot(text).state.documents).toEqual(state.documents);
  });

  it('a version-2 snapshot reads back every stored string under any key, natively parsed or JSS-decoded (property)', () => {
    const storable = (k: string): boolean => {
      try {
        assertStorableName(k, 'the key');
        return true;
      } catch {
        return false;
      }
    };
    const storedString = value.map((v) => {
      try {
        return typeof v === 'string' ? v : encodeJss(v);
      } catch {
        return 'refused';
      }
    });
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }).filter(storable), storedString, { maxKeys: 6 }), fc.boolean(), (docs, withPointer) => {
        // A pointer anywhere sends the whole text to the JSS decoder instead of the native parser.
        const documents = new Map(Object.entries(withPointer ? { ...docs, ptr: '{"a":{},"b<!P>":"a"}' } : docs));
        const text = encodeSnapshot({ version: 2, walLine: 1, timestamp: 1700000000000, state: { documents, collections: new Map() } });
        expect(decodeSnapshot(text).state.documents).toEqual(documents);
      }),
      { numRuns: 2000 },
    );
  });

  it("a snapshot the previous version wrote with a stored '1', 'true' or 'null' decoded opens with those documents", async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.close();
    const legacy = '{"version":2,"walLine":0,"timestamp<!D>":1700000000000,"documents":{"n":1,"t":true,"z":null,"o":{"a":1}},"collections":{}}';
    await fsp.writeFile(path.join(dataDir, 'snapshot.jss'), legacy);
    const again = await createDB({ storeConfig: { dataDir } });
    expect(Object.fromEntries(again.state.documents)).toEqual({ n: '1', t: 'true', z: 'null', o: '{"a":1}' });
    await again.close();
  });
});
