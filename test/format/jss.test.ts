import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeJss, encodeJss, splitTaggedKey } from '../../src/format/jss.js';
import { decryptText, parseEncryptionKey } from '../../src/format/encryption.js';
import { parseWalLine, entryAad } from '../../src/format/wal-line.js';
import { FIXTURE_KEY, FIXTURE_NAMES, FIXTURES_DIR, fixturesPresent } from '../support/fixtures.js';

describe('JSS', () => {
  it('encodes the spec examples', () => {
    const doc = { name: 'Ada', createdAt: new Date(1700000000000) };
    expect(encodeJss(doc)).toBe('{"name":"Ada","createdAt<!D>":1700000000000}');
    const snap = { version: 1, walLine: 42, timestamp: new Date(1700000000000), documents: {}, collections: { USER: ['USER_abc1234'] } };
    expect(encodeJss(snap)).toBe('{"version":1,"walLine":42,"timestamp<!D>":1700000000000,"documents":{},"collections":{"USER":["USER_abc1234"]}}');
  });

  it('encodes every tag and decodes it back', () => {
    const err = new TypeError('boom');
    const value = {
      d: new Date(5),
      r: /ab+c/gi,
      e: err,
      s: new Set(['a', 1]),
      m: new Map<string, unknown>([['k', new Date(7)]]),
      list: [new Date(1), 2, new Set([1]), undefined],
      gone: undefined,
    };
    const text = encodeJss(value);
    expect(text).toContain('"list<![D,,S,U]>":[1,2,[1],null]');
    expect(text).not.toContain('gone');
    const back = decodeJss<Record<string, unknown>>(text);
    expect(back.d).toEqual(new Date(5));
    expect((back.r as RegExp).toString()).toBe('/ab+c/gi');
    expect((back.e as Error).message).toBe('boom');
    expect((back.e as Error).name).toBe('TypeError');
    expect(back.s).toEqual(new Set(['a', 1]));
    expect(back.m).toEqual(new Map([['k', new Date(7)]]));
    expect(back.list).toEqual([new Date(1), 2, new Set([1]), undefined]);
    expect(encodeJss(back)).toBe(text);
  });

  it('writes a pointer for cycles and shared objects, and resolves it', () => {
    const author = { name: 'Ada' };
    const root: Record<string, unknown> = { documents: { POST_1: { author }, POST_2: { author } } };
    root.self = root;
    const text = encodeJss(root);
    expect(text).toContain('"author<!P>":"documents/POST_1/author"');
    expect(text).toContain('"self<!P>":""');
    const back = decodeJss<{ documents: Record<string, { author: unknown }>; self: unknown }>(text);
    expect(back.documents.POST_2!.author).toBe(back.documents.POST_1!.author);
    expect(back.self).toBe(back);
  });

  it('takes the tag after the last <!', () => {
    expect(splitTaggedKey('a<!b<!D>')).toEqual(['a<!b', 'D']);
    expect(splitTaggedKey('plain')).toEqual(['plain', '']);
  });

  it('rejects text that is not JSS with JSS_INVALID', () => {
    expect(() => decodeJss('{"a":')).toThrowError(expect.objectContaining({ code: 'JSS_INVALID' }));
    expect(() => decodeJss('{"a<!Q>":1}')).toThrowError(expect.objectContaining({ code: 'JSS_INVALID' }));
    expect(() => decodeJss('{"a<!P>":"nowhere/x"}')).toThrowError(expect.objectContaining({ code: 'JSS_INVALID' }));
  });

  it('refuses an Invalid Date (in a field, an array, a Map) with JSS_INVALID: written as null, it read back as the raw text', () => {
    for (const value of [{ d: new Date('x'), n: 1 }, { a: [new Date(NaN)] }, { m: new Map([['k', new Date('y')]]) }]) {
      expect(() => encodeJss(value)).toThrowError(expect.objectContaining({ code: 'JSS_INVALID', message: expect.stringMatching(/Invalid Date/) }));
    }
    expect(decodeJss(encodeJss({ d: new Date(0) }))).toEqual({ d: new Date(0) });
  });

  const jssValue = fc.letrec((tie) => ({
    leaf: fc.oneof(
      fc.string(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.date({ noInvalidDate: true }),
      fc.constantFrom(/x+/g, /a.b/i),
      fc.uniqueArray(fc.oneof(fc.string(), fc.integer())).map((a) => new Set(a)),
    ),
    arr: fc.array(fc.oneof(tie('leaf'), tie('obj'), fc.constant(undefined)), { maxLength: 4 }),
    obj: fc.dictionary(
      fc.string().filter((k) => !k.includes('<!') && !k.includes('/') && k !== '__proto__'),
      fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('arr'), tie('obj')),
      { maxKeys: 5 },
    ),
  }));

  it('round-trips generated values (property)', () => {
    fc.assert(
      fc.property(jssValue.obj, (value) => {
        const text = encodeJss(value as object);
        const back = decodeJss(text);
        expect(encodeJss(back as object)).toBe(text);
        expect(back).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });
});

describe.skipIf(!fixturesPresent())('JSS on BRI output', () => {
  const key = parseEncryptionKey(FIXTURE_KEY);
  for (const name of FIXTURE_NAMES) {
    it(`${name}: every WAL entry, document value and the snapshot round-trip byte for byte`, () => {
      const dir = path.join(FIXTURES_DIR, name);
      let entries = 0;
      for (const seg of fs.readdirSync(path.join(dir, 'wal')).sort()) {
        const text = fs.readFileSync(path.join(dir, 'wal', seg), 'utf8');
        for (const raw of text.split('\n').filter((l) => l !== '')) {
          const line = parseWalLine(raw)!;
          expect(line).not.toBeNull();
          const entry = name === 'encrypted' ? decryptText(key, line.entry, entryAad(line.timestamp, line.pointer)) : line.entry;
          expect(encodeJss(decodeJss(entry) as object)).toBe(entry);
          const op = decodeJss<{ value?: string }>(entry);
          if (op.value !== undefined) expect(encodeJss(decodeJss(op.value) as object)).toBe(op.value);
          entries++;
        }
      }
      expect(entries).toBeGreaterThan(200);
      const snapRaw = fs.readFileSync(path.join(dir, 'snapshot.jss'), 'utf8');
      const snap = name === 'encrypted' ? decryptText(key, snapRaw) : snapRaw;
      expect(encodeJss(decodeJss(snap) as object)).toBe(snap);
    });
  }
});
