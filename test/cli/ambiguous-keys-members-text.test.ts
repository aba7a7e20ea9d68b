/**
 * Text output tells apart what --json tells apart: a set holding the member "a, b" printed `{a, b}`, as the set
 * of a and b does; the key `A ` printed as `A`; the key `"x"` printed as the quoted form of the key `x`. Such
 * members and keys are JSON-quoted (as the empty one, `{""}`, and keys with control characters already are).
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { printable, printableMembers } from '../../src/cli/output.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-ambiguous-text-');

describe('keys and members that would read as others', () => {
  it('are quoted; each reads back (as JSON) to itself, and no two print alike', () => {
    const keys = ['A', 'A ', ' A', 'x', '"x"', 'a b', ''];
    const shown = keys.map(printable);
    expect(shown).toEqual(['A', '"A "', '" A"', 'x', '"\\"x\\""', 'a b', '""']);
    expect(new Set(shown).size).toBe(keys.length);
    expect(printableMembers(['a, b'])).toBe('{"a, b"}');
    expect(printableMembers(['a', 'b'])).toBe('{a, b}');
    expect(printableMembers(['}'])).toBe('{"}"}');
    expect(printableMembers([''])).toBe('{""}');
    expect(printableMembers([])).toBe('{}');
  });

  it('archive show, restore diff and archive history print them so', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    await db.sAdd('U', 'a, b');
    await db.sAdd('V', 'a');
    await db.sAdd('V', 'b');
    await db.set('A ', { v: 1 });
    await db.set('"x"', { v: 2 });
    await db.archive.create();
    await db.close();
    const at = String(Date.now());
    const u = await runCli(['archive', 'show', 'U', '-d', dataDir, '--at', at]);
    const v = await runCli(['archive', 'show', 'V', '-d', dataDir, '--at', at]);
    expect([u.stdout, v.stdout]).toEqual(['{"a, b"}\n', '{a, b}\n']);
    const diff = await runCli(['restore', 'diff', '-d', dataDir, '--at', '0']);
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout.split('\n')).toEqual(expect.arrayContaining(['+ "A "', '+ "\\"x\\""', '~ U +{"a, b"}', '~ V +{a, b}']));
    const history = await runCli(['archive', 'history', 'A ', '-d', dataDir]);
    expect(history.stdout).toMatch(/SET {4}"A " {2}\{"v":1\}/);
  }, 120_000);
});
