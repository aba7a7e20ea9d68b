/**
 * An unknown key in the archive configuration (`{"retention":{"days":3}}` for retentionDays) was refused with
 * "see the README": the hint now lists the keys the object it is in takes, as storeConfig's errors do.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArchiveConfig } from '../../src/archive/config.js';
import { isBriError } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-config-unknown-key-');

function refusal(config: unknown): { message: string; hint: string | undefined } {
  try {
    parseArchiveConfig(config);
  } catch (err) {
    if (isBriError(err, 'CONFIG_INVALID')) return { message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('accepted');
}

describe('an unknown key in the archive configuration', () => {
  it('bri --config with {"retention":{"days":3}}: CONFIG_INVALID whose hint lists the archive block\'s keys (retentionDays among them)', async () => {
    const r = await tmp();
    const cfg = path.join(r, 'cfg.json');
    await fsp.writeFile(cfg, JSON.stringify({ retention: { days: 3 } }));
    const res = await runCli(['archive', 'list', '-d', path.join(r, 'data'), '-c', cfg]);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toContain('CONFIG_INVALID');
    expect(res.stderr).toContain("unknown key(s) 'retention'");
    expect(res.stderr).toMatch(/hint: .*The keys of the archive block are .*\bretentionDays\b/);
    expect(res.stderr).toMatch(/\bkeepLocal\b.*\bremotes\b.*\bencryption\b/);
  });

  it("in a nested block: the hint lists that block's keys", () => {
    expect(refusal({ compression: { lvl: 3 } }).hint).toMatch(/The keys of archive\.compression are algorithm, level, workers\b/);
    expect(refusal({ continuous: { on: true } }).hint).toMatch(/The keys of archive\.continuous are enabled, intervalMs\b/);
    expect(refusal({ hooks: { before: 'x' } }).hint).toMatch(/The keys of archive\.hooks are beforeArchive, afterArchive, onError\b/);
  });

  it('never repeats the value given under the unknown key (it may be a secret)', () => {
    const r = refusal({ retention: 'hunter2-secret' });
    expect(`${r.message} ${r.hint}`).not.toContain('hunter2-secret');
  });
});
