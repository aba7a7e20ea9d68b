/**
 * Keys that name something on Object.prototype (`__proto__`, `constructor`, `toString`,
 * `hasOwnProperty`) are ordinary keys to JSS and to snapshots: BRI writes a document, a set or a
 * field under any of them, and every reader keeps it as a field (an assignment with `__proto__`
 * replaced the object's prototype and dropped the document in silence).
 */
import { describe, expect, it } from 'vitest';
import { decodeJss, encodeJss } from '../../src/format/jss.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/format/snapshot-file.js';
import { toPlainState, type DbState } from '../../src/format/state.js';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

const stateWith = (names: string[]): DbState => ({
  documents: new Map(names.flatMap((n) => [[n, '"v"'], [`${n}-obj`, `{${JSON.stringify(n)}:{"a":1}}`]] as Array<[string, string]>)),
  collections: new Map(names.map((n) => [n, new Set(['m'])])),
});

describe('keys named like Object.prototype members', () => {
  it('decodeJss keeps a __proto__ field as an own field (the prototype untouched), and encodeJss writes it back byte for byte', () => {
    for (const text of ['{"__proto__":{"x":1}}', '{"a":{"__proto__":[1,2]},"b":1}', '{"__proto__<!D>":5}', '{"m<!M>":{"__proto__":1}}', '{"constructor":"c","toString":1,"hasOwnProperty":null}']) {
      const got = decodeJss<Record<string, unknown>>(text);
      expect(Object.getPrototypeOf(got), text).toBe(Object.prototype);
      expect(encodeJss(got), text).toBe(text);
    }
    const got = decodeJss<Record<string, unknown>>('{"__proto__":{"x":1}}');
    expect(Object.keys(got)).toEqual(['__proto__']);
    expect((got as { x?: unknown }).x).toBeUndefined();
    expect(decodeJss<{ m: Map<string, unknown> }>('{"m<!M>":{"__proto__":1}}').m.get('__proto__')).toBe(1);
  });

  it('a pointer resolves through an own __proto__ field, and is JSS_INVALID through a prototype member no document holds', () => {
    const got = decodeJss<{ __proto__: unknown; b: unknown }>('{"__proto__":{"x":1},"b<!P>":"__proto__"}');
    expect(Object.getOwnPropertyDescriptor(got, 'b')?.value).toBe(Object.getOwnPropertyDescriptor(got, '__proto__')?.value);
    for (const path of ['__proto__', 'constructor', 'a/toString', 'a/hasOwnProperty']) {
      expect(() => decodeJss(`{"a":{},"b<!P>":${JSON.stringify(path)}}`), path).toThrow(expect.objectContaining({ code: 'JSS_INVALID' }));
    }
  });

  it('a snapshot keeps documents and sets keyed __proto__, constructor, toString, hasOwnProperty: v1 and v2, natively parsed or through the JSS decoder', () => {
    const state = stateWith(NAMES);
    for (const version of [1, 2] as const) {
      const text = encodeSnapshot({ version, walLine: 3, timestamp: 5, state });
      // A pointer anywhere sends the whole text to the JSS decoder; without one it is parsed natively.
      const viaDecoder = text.replace('"documents":{', '"documents":{"P":{"x":{"y":1},"z<!P>":"documents/P/x"},');
      for (const t of [text, viaDecoder]) {
        const got = decodeSnapshot(t).state;
        for (const n of NAMES) {
          expect(got.documents.get(n), `v${version} ${n}`).toBe('"v"');
          expect(got.documents.get(`${n}-obj`), `v${version} ${n}-obj`).toBe(state.documents.get(`${n}-obj`));
          expect(got.collections.get(n), `v${version} set ${n}`).toEqual(new Set(['m']));
        }
      }
      expect(encodeSnapshot({ ...decodeSnapshot(text), version })).toBe(text);
    }
  });

  it('a version-2 snapshot writes a document holding a __proto__ field as its object, and reads back the same stored text', () => {
    const stored = '{"__proto__":{"x":1},"d<!D>":5}';
    const text = encodeSnapshot({ version: 2, walLine: 1, timestamp: 5, state: { documents: new Map([['K', stored]]), collections: new Map() } });
    expect(text).toContain(`"K":${stored}`);
    expect(decodeSnapshot(text).state.documents.get('K')).toBe(stored);
  });

  it('the plain view (data dump) keeps a document and a set keyed __proto__ as fields', () => {
    const plain = toPlainState(stateWith(['__proto__']));
    expect(Object.keys(plain.documents)).toContain('__proto__');
    expect(JSON.parse(JSON.stringify(plain))).toMatchObject({ documents: JSON.parse('{"__proto__":"\\"v\\""}'), collections: JSON.parse('{"__proto__":["m"]}') });
    expect(Object.getPrototypeOf(plain.documents)).toBe(Object.prototype);
  });
});
