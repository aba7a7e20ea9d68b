import { describe, expect, it } from 'vitest';
import { isBriError } from '../../src/errors.js';
import { compareKeys, normalizeStorePrefix, splitMetadata, validateKey, validateLifecycleRule, validateListPrefix, validateMetadata } from '../../src/remote/keys.js';

function usage(fn: () => unknown): boolean {
  try {
    fn();
  } catch (err) {
    return isBriError(err, 'USAGE');
  }
  return false;
}

describe('validateKey', () => {
  it('accepts ordinary keys', () => {
    for (const k of ['a', 'archives/2024-01-01T00-00-00Z.bri', 'a/b/c.d', 'dir with space/ü+=@,;.bin', '.hidden', 'a..b', 'x'.repeat(1024)]) {
      expect(validateKey(k)).toBe(k);
    }
  });

  it('rejects empty, absolute, dot segments, empty segments, control characters, backslashes and long keys', () => {
    for (const k of ['', '/a', 'a/', 'a//b', '.', '..', 'a/../b', './a', 'a/.', 'a\u0000b', 'a\nb', 'a\\b', 'x'.repeat(1025), 'é'.repeat(513)]) {
      expect(usage(() => validateKey(k)), JSON.stringify(k)).toBe(true);
    }
  });
});

describe('prefixes', () => {
  it('list prefixes may be empty, end with / or end mid-segment', () => {
    for (const p of ['', 'a/', 'a/b', 'archives/2024-']) expect(validateListPrefix(p)).toBe(p);
    for (const p of ['/a', '../a', 'a//', 'a/../']) expect(usage(() => validateListPrefix(p)), p).toBe(true);
  });

  it('store prefixes are normalised to "" or "segments/"', () => {
    expect(normalizeStorePrefix(undefined)).toBe('');
    expect(normalizeStorePrefix('')).toBe('');
    expect(normalizeStorePrefix('/')).toBe('');
    expect(normalizeStorePrefix('bri')).toBe('bri/');
    expect(normalizeStorePrefix('/bri/prod/')).toBe('bri/prod/');
    expect(usage(() => normalizeStorePrefix('a/../b'))).toBe(true);
    expect(usage(() => normalizeStorePrefix('a//b'))).toBe(true);
  });
});

describe('compareKeys', () => {
  it('orders by UTF-8 bytes, as S3, GCS and Azure list', () => {
    const keys = ['a/1', 'a-b', 'a.b', 'a', '\u{1F600}', '\uFFFD', 'B', 'b'];
    const sorted = [...keys].sort(compareKeys);
    expect(sorted).toEqual(['B', 'a', 'a-b', 'a.b', 'a/1', 'b', '\uFFFD', '\u{1F600}']);
    // UTF-16 order would put the astral character (surrogates D83D...) before U+FFFD.
    expect([...keys].sort()).not.toEqual(sorted);
  });
});

describe('metadata', () => {
  it('accepts portable keys and printable ASCII values', () => {
    expect(validateMetadata({ archive_id: 'x-1', lines: '42' })).toEqual({ archive_id: 'x-1', lines: '42' });
    expect(validateMetadata(undefined)).toEqual({});
  });

  it('rejects keys Azure or S3 cannot carry, our reserved prefix, non-ASCII values and oversize', () => {
    const bad: Array<Record<string, string>> = [{ 'a-b': 'x' }, { A: 'x' }, { '1a': 'x' }, { bri_sha256: 'x' }, { k: 'é' }, { k: 'a\nb' }, { k: 'x'.repeat(3000) }];
    for (const m of bad) {
      expect(usage(() => validateMetadata(m)), JSON.stringify(m)).toBe(true);
    }
  });

  it('splits stored metadata into the user part and our SHA-256', () => {
    expect(splitMetadata({ Archive_Id: 'x', bri_sha256: 'a'.repeat(64), bri_other: 'y' })).toEqual({ user: { archive_id: 'x' }, sha256: 'a'.repeat(64) });
    expect(splitMetadata({ bri_sha256: 'not-hex' })).toEqual({ user: {} });
  });
});

describe('validateLifecycleRule', () => {
  it('wants whole days >= 1 and expiry after transition', () => {
    validateLifecycleRule({ transitionAfterDays: 30, expireAfterDays: 365 });
    validateLifecycleRule({});
    for (const r of [{ transitionAfterDays: 0 }, { expireAfterDays: 1.5 }, { transitionAfterDays: 30, expireAfterDays: 30 }]) {
      expect(usage(() => validateLifecycleRule(r)), JSON.stringify(r)).toBe(true);
    }
  });
});
