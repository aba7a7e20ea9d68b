/**
 * Keys told apart only by characters that print as nothing, or as other characters, printed alike: `USER_1`
 * and `USER_1<zero-width space>`, a no-break space, a decomposed `café` beside the composed one, a bidi
 * override making PRICE_<RLO>DSU_001 show as PRICE_100_USD; the empty key printed as nothing. Such a key is
 * printed JSON-quoted with those characters escaped, so that what is shown tells the keys apart.
 */
import { describe, expect, it } from 'vitest';
import { printable } from '../../src/cli/output.js';

describe('printable', () => {
  it('keys that print as themselves stay as they are (emoji with joiners, Devanagari, composed accents, spaces)', () => {
    for (const k of ['USER_1', 'café', 'हिन्दी', 'a b', '👨‍👩‍👧', 'ORDER?*%']) expect(printable(k)).toBe(k);
  });

  it('invisible, look-alike and empty keys are quoted with the hidden characters escaped; no two print alike', () => {
    const keys = ['USER_1', 'USER_1\u200b', 'USER_1\u00a0', 'café', 'cafe\u0301', 'PRICE_\u202eDSU_001', '', 'A\u2066B', 'line\nbreak', 'tag\u{e0001}'];
    const shown = keys.map(printable);
    expect(new Set(shown).size).toBe(keys.length);
    expect(shown).toEqual(['USER_1', '"USER_1\\u200b"', '"USER_1\\u00a0"', 'café', '"cafe\\u0301"', '"PRICE_\\u202eDSU_001"', '""', '"A\\u2066B"', '"line\\nbreak"', '"tag\\udb40\\udc01"']);
    // What is printed reads back (as JSON) to the key itself.
    for (const [i, s] of shown.entries()) if (s.startsWith('"')) expect(JSON.parse(s)).toBe(keys[i]);
  });
});
