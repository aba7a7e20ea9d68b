/**
 * A deeply nested document the store took reads back after a clean close. A version-2 snapshot
 * wrote such a document as an object; when any document's text held `<!` then `P` (an HTML comment,
 * a DOCTYPE, a shared object), the reader decoded the whole snapshot with a recursive walk, two
 * levels deeper than the document, and every later open failed with SNAPSHOT_CORRUPTED "Maximum
 * call stack size exceeded" (dump, verify and archive create too).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { decodeSnapshot, encodeSnapshot, MAX_EMBEDDED_DEPTH } from '../../src/format/snapshot-file.js';
import { appendLinesAt } from '../support/bri-lines.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-deepdocs-');

const nestedText = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
/** A document `depth` levels deep whose innermost field `y` points at its sibling `x`. */
function pointingText(depth: number): string {
  const wraps = depth - 2;
  const bottom = Array.from({ length: wraps }, () => 'a').join('/');
  return '{"a":'.repeat(wraps) + `{"x":{"q":1},"y<!P>":"${bottom}/x"}` + '}'.repeat(wraps);
}
function nested(depth: number): object {
  let o: unknown = 1;
  for (let i = 0; i < depth; i++) o = { a: o };
  return o as object;
}

/** Runs `f` with `frames` calls of this function below it on the stack (a reader called from deep in an application). */
function fromDeepStack<T>(frames: number, f: () => T): T {
  return frames === 0 ? f() : fromDeepStack(frames - 1, f);
}

const PAGES: Array<[string, object]> = [
  ['an HTML comment', { html: '<!-- Page header -->' }],
  ['a DOCTYPE', { html: '<!DOCTYPE html><p>hi</p>' }],
];

describe('a deeply nested document reads back after close()', () => {
  for (const [what, page] of PAGES) {
    it(`a string document 2000 deep beside ${what}: reopen (and dump, verify and archive create) read it`, async () => {
      const dir = await tmp();
      const deep = nestedText(2000);
      const db = await createDB({ storeConfig: { dataDir: dir, fsyncMode: 'always' } });
      await db.set('PAGE', page);
      await db.set('DEEP', deep);
      await db.close();
      const db2 = await createDB({ storeConfig: { dataDir: dir } });
      try {
        expect(db2.getRaw('DEEP')).toBe(deep);
        expect(db2.get('PAGE')).toEqual(page);
      } finally {
        await db2.close();
      }
      if (page !== PAGES[0]![1]) return; // the tools once (each is a process of its own)
      const dump = await runCli(['data', 'dump', '-d', dir, '--json']);
      expect(dump.code, dump.stderr).toBe(0);
      const verify = await runCli(['data', 'verify', '-d', dir]);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      const create = await runCli(['archive', 'create', '-d', dir]);
      expect(create.code, create.stderr).toBe(0);
    });
  }

  it('an object document as deep as set() takes, beside a shared object: the reopened store has it', async () => {
    const dir = await tmp();
    const db = await createDB({ storeConfig: { dataDir: dir, fsyncMode: 'always' } });
    const shared = { q: 1 };
    await db.set('PTR', { a: shared, b: shared });
    // The deepest set() takes from here (its encoder recurses), in steps of 100 from 1700.
    let depth = 0;
    for (let d = 1700; d >= 600; d -= 100) {
      try {
        await db.set('DEEP', nested(d));
        depth = d;
        break;
      } catch {
        /* refused as JSS_INVALID: try less deep */
      }
    }
    expect(depth).toBeGreaterThan(MAX_EMBEDDED_DEPTH);
    const stored = db.getRaw('DEEP');
    await db.close();
    const db2 = await createDB({ storeConfig: { dataDir: dir } });
    try {
      expect(db2.getRaw('DEEP')).toBe(stored);
      expect(db2.getRaw('PTR')).toBe('{"a":{"q":1},"b<!P>":"a"}');
    } finally {
      await db2.close();
    }
  });

  it('a WAL line holding one (as BRI writes it) replays at open, and the snapshot the close writes reopens', async () => {
    const dir = await tmp();
    await fsp.mkdir(path.join(dir, 'wal'), { recursive: true });
    const deep = nestedText(2000);
    appendLinesAt(1_796_000_000_000, path.join(dir, 'wal', '000000.wal'), '', [
      [0, { action: 'SET', target: 'PAGE', value: JSON.stringify({ html: '<!-- Page header -->' }) }],
      [1, { action: 'SET', target: 'DEEP', value: deep }],
      [2, { action: 'SET', target: 'USER_1', value: '{"name":"Ada"}' }],
    ]);
    for (let round = 0; round < 2; round++) {
      const db = await createDB({ storeConfig: { dataDir: dir, fsyncMode: 'always' } });
      try {
        expect(db.getRaw('DEEP')).toBe(deep);
        expect(db.getRaw('USER_1')).toBe('{"name":"Ada"}');
      } finally {
        await db.close();
      }
    }
  });
});

describe('snapshot.jss: what the writer writes, the reader reads, from any stack', () => {
  it('a document holding a pointer deeper than MAX_EMBEDDED_DEPTH is written as its stored string; one at it, as an object', () => {
    const at = pointingText(MAX_EMBEDDED_DEPTH);
    const over = pointingText(MAX_EMBEDDED_DEPTH + 1);
    const plainDeep = nestedText(MAX_EMBEDDED_DEPTH + 100);
    const state = { documents: new Map([['AT', at], ['OVER', over], ['PLAIN', plainDeep]]), collections: new Map() };
    const text = encodeSnapshot({ version: 2, walLine: 2, timestamp: 1, state });
    expect(text.includes(`"AT":{"a":`)).toBe(true);
    expect(text.includes(`"OVER":${JSON.stringify(over)}`)).toBe(true);
    // No tag: the reader takes it natively at any depth, so it stays an object.
    expect(text.includes(`"PLAIN":${plainDeep}`)).toBe(true);
    expect(fromDeepStack(2000, () => decodeSnapshot(text)).state.documents).toEqual(state.documents);
  });

  it('the depth is of arrays and objects, not of brackets and quotes inside strings', () => {
    const flat = JSON.stringify({ s: '{['.repeat(800) + '\\"\\', t: '\\', list: Array.from({ length: 600 }, (_, i) => ({ i })), p: { q: 1 } }).slice(0, -1) + ',"r<!P>":"p"}';
    const deepArray = '['.repeat(MAX_EMBEDDED_DEPTH + 1) + ']'.repeat(MAX_EMBEDDED_DEPTH + 1);
    const arr = `{"p":{"q":1},"r<!P>":"p","x":${deepArray}}`;
    const state = { documents: new Map([['FLAT', flat], ['ARR', arr]]), collections: new Map() };
    const text = encodeSnapshot({ version: 2, walLine: 2, timestamp: 1, state });
    expect(text.includes(`"FLAT":{"s":`)).toBe(true);
    expect(text.includes(`"ARR":${JSON.stringify(arr)}`)).toBe(true);
    expect(decodeSnapshot(text).state.documents).toEqual(state.documents);
  });

  it('a document at MAX_EMBEDDED_DEPTH holding a pointer, beside one pointing into it, decodes from a deep stack', () => {
    // The pointer is at the bottom, MAX_EMBEDDED_DEPTH levels in all: '{"a":...{"a":{"x":{"q":1},"y<!P>":"a/a/.../x"}}...}'.
    const over = MAX_EMBEDDED_DEPTH - 2;
    const bottomPath = Array.from({ length: over }, () => 'a').join('/');
    const deep = '{"a":'.repeat(over) + `{"x":{"q":1},"y<!P>":"${bottomPath}/x"}` + '}'.repeat(over);
    const state = { documents: new Map([['DEEP', deep], ['PAGE', '{"html":"<!-- c -->"}']]), collections: new Map() };
    const text = encodeSnapshot({ version: 2, walLine: 2, timestamp: 1, state });
    expect(text.includes(`"DEEP":{"a":`)).toBe(true); // written as an object
    const read = fromDeepStack(2000, () => decodeSnapshot(text));
    expect(read.state.documents).toEqual(state.documents);
  });

  it('a snapshot an earlier writer left (a document 2000 deep as an object, a pointer elsewhere) opens', async () => {
    const dir = await tmp();
    const text =
      '{"version":2,"walLine":0,"timestamp<!D>":1796000000000,"documents":{' +
      `"PAGE":{"html":"<!-- Page header -->"},"PTR":{"a":{"q":1},"b<!P>":"documents/PTR/a"},"DEEP":${nestedText(2000)}},"collections":{}}`;
    fs.writeFileSync(path.join(dir, 'snapshot.jss'), text);
    const db = await createDB({ storeConfig: { dataDir: dir } });
    try {
      expect(db.getRaw('DEEP')).toBe(nestedText(2000));
      expect(db.getRaw('PTR')).toBe('{"a":{"q":1},"b<!P>":"a"}');
      expect([...db.keys()].sort()).toEqual(['DEEP', 'PAGE', 'PTR']);
    } finally {
      await db.close();
    }
    // The close wrote it again (DEEP, holding no tag, still as an object): it opens again.
    expect(fs.readFileSync(path.join(dir, 'snapshot.jss'), 'utf8').includes(`"DEEP":${nestedText(2000)}`)).toBe(true);
    const db2 = await createDB({ storeConfig: { dataDir: dir } });
    await db2.close();
  });
});
