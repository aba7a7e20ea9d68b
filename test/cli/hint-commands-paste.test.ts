/**
 * A hint's suggested command is pasted into a shell by the user who reads it. Paths are legal with a
 * space, a quote or a `$(...)` in them: printed bare, the pasted command split the path (too many
 * arguments) or ran the command substitution taken from a directory name.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shellArg } from '../../src/errors.js';
import { runCli } from '../support/cli.js';
import { createDB } from '../../src/db.js';
import { makeTempDir } from '../support/fixtures.js';

/** The words bash gives a `bri ...` command line, with `bri` a function that prints its arguments (nothing else runs). */
function pastedWords(cwd: string, command: string): string[] {
  const out = execFileSync('bash', ['-c', `bri() { printf '%s\\0' "$@"; }\n${command}`], { cwd, encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('shellArg', () => {
  it('gives each word back whole through bash, whatever it holds', () => {
    const words = ['/plain/path', 'db one', "it's", 'db $(touch PWNED)', '`id`', 'a"b', 'tab\there', 'new\nline', '-x', "''", '\\', '~/x', '*.json', 'é ü'];
    const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'bri-shellarg-'));
    try {
      expect(pastedWords(dir, `bri ${words.map(shellArg).join(' ')}`)).toEqual(words);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves a path of ordinary characters as it is', () => {
    expect(shellArg('/var/lib/bri/data-1/archives')).toBe('/var/lib/bri/data-1/archives');
  });
});

describe('a refusal hint names a command that runs as printed when pasted', () => {
  it('two data directories sharing one archive directory, with a space and a $(...) in their names', async () => {
    const root = await makeTempDir('bri-hintpaste-');
    const one = path.join(root, 'db one');
    const two = path.join(root, 'db $(touch PWNED)');
    const shared = path.join(root, 'shared arch');
    for (const dir of [one, two]) {
      const db = await createDB({ storeConfig: { dataDir: dir } });
      await db.set('K', { dir });
      await db.close();
    }
    const first = await runCli(['archive', 'create', '-d', one, '-a', shared, '-q']);
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(['archive', 'create', '-d', two, '-a', shared]);
    expect(second.code).not.toBe(0);
    const command = /`(bri archive create [^`]*)`/.exec(second.stderr)?.[1];
    expect(command, second.stderr).toBeDefined();
    const words = pastedWords(root, command!);
    expect(words.slice(0, 3)).toEqual(['archive', 'create', '-d']);
    expect(words[3]).toBe(two);
    expect(words[4]).toBe('--archive-dir');
    expect(words[5]!.startsWith(`${two}/`)).toBe(true);
    expect(words).toHaveLength(6);
    expect(fs.existsSync(path.join(root, 'PWNED'))).toBe(false);
    // And the command, run for real, archives the second directory into its own archive directory.
    const own = await runCli(words);
    expect(own.code, own.stderr).toBe(0);
    expect(fs.readdirSync(words[5]!).some((f) => f.endsWith('.bri'))).toBe(true);
  }, 60_000);
});
