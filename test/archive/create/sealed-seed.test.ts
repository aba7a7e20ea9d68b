/**
 * A sealed seed (the end state of an archive encrypted with age) never touches the disk in the clear:
 * zstd streams straight into age. It was staged as `<seed>.jss.zst.age.zst.tmp` first, the whole
 * state in plain zstd beside the encrypted archives on every create, and left there by a kill.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tmp = useTempDirs('bri-sealed-seed-');
const SECRET = 'PLAIN-STATE-41c9';

describe('sealed seeds', () => {
  it('are written without a plaintext file on the way, sweep a plaintext one an older version left, and still start the next archive', async () => {
    const r = await tmp();
    const dataDir = path.join(r, 'data');
    const seeds = path.join(dataDir, 'archives', '.seeds');
    const identity = await generateIdentity();
    const archive = { compression: { level: 1 }, encryption: { recipients: [await identityToRecipient(identity)] } };
    const db = await createDB({ storeConfig: { dataDir, archive } });
    for (let i = 0; i < 50; i++) await db.set(`K${i}`, { v: `${SECRET}-${i}` });
    await db.archive.create();
    // What a kill left under an older version, of another instance (a data directory restored since): the state in plain zstd.
    const left = path.join(seeds, 'other-instance.7.jss.zst.age.zst.tmp');
    await fsp.writeFile(left, 'plain zstd of a whole state');
    const seen = new Set<string>();
    const watcher = fs.watch(seeds, (_event, name) => name && seen.add(String(name)));
    try {
      for (let i = 0; i < 50; i++) await db.set(`K${i}`, { v: `${SECRET}-again-${i}` });
      await db.archive.create();
    } finally {
      watcher.close();
      await db.close();
    }
    expect([...seen].filter((n) => n.endsWith('.jss.zst.age.tmp')).length, [...seen].join(', ')).toBeGreaterThan(0);
    expect([...seen].filter((n) => n.endsWith('.zst.tmp') && n !== path.basename(left)), [...seen].join(', ')).toEqual([]);
    expect(fs.existsSync(left)).toBe(false);
    for (const n of await fsp.readdir(seeds)) expect((await fsp.readFile(path.join(seeds, n))).includes(SECRET), n).toBe(false);
    // The seed is whole: the archive it starts restores the state with the identity.
    const out = path.join(r, 'out');
    const restore = openRestore({ dataDir, config: archive });
    await restore.fromLatest({ targetDir: out, identity: { identities: [identity], passphrases: [], source: 'test' } });
    const back = await createDB({ storeConfig: { dataDir: out } });
    try {
      expect(back.get('K49')).toEqual({ v: `${SECRET}-again-49` });
    } finally {
      await back.close();
    }
  }, 60_000);
});
