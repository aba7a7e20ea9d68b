/** `restore diff` left out a changed set named __proto__ (assigned as a prototype, not a field). */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-diff-proto-');

describe('restore diff', () => {
  it('says the members added to and removed from a set named __proto__', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    try {
      await db.sAdd('__proto__', 'm1');
      await db.sAdd('__proto__', 'gone');
      await db.archive.create();
      const at = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      await db.sAdd('__proto__', 'm2');
      await db.sRem('__proto__', 'gone');
      await db.archive.create();
      const d = await db.restore.diff({ at });
      expect(Object.prototype.hasOwnProperty.call(d.sets, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(d.sets, '__proto__')!.value).toEqual({ added: ['m2'], removed: ['gone'] });
      expect(JSON.parse(JSON.stringify(d.sets))).toEqual(JSON.parse('{"__proto__":{"added":["m2"],"removed":["gone"]}}'));
    } finally {
      await db.close();
    }
  });
});
