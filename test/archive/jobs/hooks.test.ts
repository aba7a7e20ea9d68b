/**
 * Hooks given as commands (the only kind a JSON config can hold): what the
 * command receives, what its failure does to the archive or restore around
 * it, and the same from the CLI's --config, with real /bin/sh children.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommandHook } from '../../../src/archive/jobs/command-hook.js';
import { openRestore } from '../../../src/archive/restore-api.js';
import { createDB } from '../../../src/db.js';
import { isBriError } from '../../../src/errors.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-hooks-');
const read = (f: string) => fs.readFileSync(f, 'utf8');
const bris = async (dir: string) => (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.bri'));

async function dbWithLines(dataDir: string, archive: Record<string, unknown>, n = 20) {
  const db = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 }, ...archive } } });
  for (let i = 0; i < n; i++) await db.set(`k${i}`, { i });
  return db;
}

describe('command hooks', () => {
  it('get the event as JSON on stdin and the main facts in BRI_* variables', async () => {
    const dir = await tempDir();
    const out = path.join(dir, 'out');
    await runCommandHook('afterArchive', { command: `cat > "${out}.json"; env | grep '^BRI_' | sort > "${out}.env"` }, { archiveId: 'a-1', reason: 'manual', file: '/x/a-1.bri', big: 10n });
    expect(JSON.parse(read(`${out}.json`))).toEqual({ hook: 'afterArchive', event: { archiveId: 'a-1', reason: 'manual', file: '/x/a-1.bri', big: '10' } });
    expect(read(`${out}.env`)).toContain('BRI_ARCHIVE_FILE=/x/a-1.bri\nBRI_ARCHIVE_ID=a-1\nBRI_HOOK=afterArchive\nBRI_REASON=manual\n');
  });

  it('fail with HOOK_FAILED quoting stderr when the command exits non-zero, cannot start, or runs past its timeout', async () => {
    const failed = await runCommandHook('beforeArchive', { command: 'echo "disk almost full" >&2; exit 3' }, {}).catch((e: unknown) => e);
    expect(isBriError(failed, 'HOOK_FAILED')).toBe(true);
    expect((failed as Error).message).toBe('hook beforeArchive (echo) exited with 3: disk almost full');
    const missing = await runCommandHook('beforeArchive', { command: ['/no/such/binary', '--token', 'SECRET'] }, {}).catch((e: unknown) => e);
    expect((missing as Error).message).toBe('hook beforeArchive (/no/such/binary) could not start: ENOENT');
    const t0 = Date.now();
    const slow = await runCommandHook('afterRestore', { command: 'sleep 30', timeoutMs: 200 }, {}).catch((e: unknown) => e);
    expect((slow as Error).message).toBe('hook afterRestore (sleep) ran past its 200 ms timeout and was killed');
    expect(Date.now() - t0).toBeLessThan(20_000); // killed, not waited for
    // A command that ignores its stdin is not a failure.
    await runCommandHook('afterArchive', { command: 'true' }, { large: 'x'.repeat(1 << 20) });
  });

  it('a command that leaves something running in the background does not keep the process alive', async () => {
    const dir = await tempDir();
    const marker = path.join(dir, 'background-started');
    const script = `import { runCommandHook } from ${JSON.stringify(path.resolve('src/archive/jobs/command-hook.ts'))};
await runCommandHook('afterArchive', { command: 'sleep 30 & touch ${marker}' }, {});`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
    const exit = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 20_000);
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
    expect(exit, 'the process exited by itself, not held for the 30 s the background sleep runs').toBe(0);
    expect(fs.existsSync(marker)).toBe(true);
  }, 30_000);

  it('a failing beforeArchive stops the archive; afterArchive gets it; a failing afterArchive is reported and the archive stands', async () => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'data');
    const marks = path.join(dir, 'marks');
    const gate = path.join(dir, 'allow');
    const db = await dbWithLines(dataDir, {
      hooks: {
        beforeArchive: `test -e "${gate}" || { echo "not allowed now" >&2; exit 1; }`,
        afterArchive: `echo "after $BRI_ARCHIVE_ID $BRI_REASON" >> "${marks}"; test ! -e "${gate}.fail-after"`,
        onError: { command: ['/bin/sh', '-c', `echo "error $BRI_ERROR_CODE" >> "${marks}"`] },
      },
    });
    try {
      const refused = await db.archive.create().catch((e: unknown) => e);
      expect(isBriError(refused, 'HOOK_FAILED'), String(refused)).toBe(true);
      expect((refused as Error).message).toContain('not allowed now');
      expect(await bris(db.archive.archiveDir)).toEqual([]);
      expect(read(marks)).toBe('error HOOK_FAILED\n');

      fs.writeFileSync(gate, '');
      const a = await db.archive.create();
      expect(a.hookErrors).toEqual([]);
      expect(read(marks)).toBe(`error HOOK_FAILED\nafter ${a.archiveId} manual\n`);

      fs.writeFileSync(`${gate}.fail-after`, '');
      await db.set('more', { x: 1 });
      const b = await db.archive.create();
      expect(b.hookErrors).toEqual([expect.stringMatching(/^afterArchive: hook afterArchive \(echo\) exited with 1/)]);
      expect(await bris(db.archive.archiveDir)).toHaveLength(2);
      expect(read(marks).trim().split('\n').slice(-2)).toEqual([`after ${b.archiveId} manual`, 'error HOOK_FAILED']);
    } finally {
      await db.close();
    }
  });

  it('restoreHooks: a failing beforeRestore leaves the target as it was; afterRestore is told where the data went', async () => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'data');
    const db = await dbWithLines(dataDir, {});
    await db.archive.create();
    await db.close();
    const target = path.join(dir, 'restored');
    const marks = path.join(dir, 'marks');
    const refusing = openRestore({ dataDir: target, config: { localDir: path.join(dataDir, 'archives'), restoreHooks: { beforeRestore: 'exit 7', onError: `echo "$BRI_ERROR_CODE $BRI_ARCHIVE_ID" > "${marks}"` } } });
    const err = await refusing.fromLatest().catch((e: unknown) => e);
    expect(isBriError(err, 'HOOK_FAILED')).toBe(true);
    expect(fs.existsSync(target)).toBe(false);
    expect(read(marks)).toMatch(/^HOOK_FAILED \S+\n$/);

    const told = openRestore({ dataDir: target, config: { localDir: path.join(dataDir, 'archives'), restoreHooks: { afterRestore: `echo "$BRI_TARGET_DIR" > "${marks}"` } } });
    const r = await told.fromLatest();
    expect(r.hookErrors).toEqual([]);
    expect(read(marks)).toBe(`${target}\n`);
    // A dry run runs no hook; hooks given to a call replace the configured ones.
    fs.rmSync(marks);
    await told.fromLatest({ dryRun: true, force: true });
    expect(fs.existsSync(marks), 'a dry run ran the afterRestore hook').toBe(false);
    let called = 0;
    await told.fromLatest({ force: true, hooks: { afterRestore: () => void called++ } });
    expect(called).toBe(1);
    expect(fs.existsSync(marks), 'the configured hook ran beside the call\'s own').toBe(false);
  });

  it('from the CLI: hooks of --config run in the file\'s directory; a failing beforeRestore exits 50', async () => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'data');
    const db = await dbWithLines(dataDir, {});
    await db.close();
    const confDir = path.join(dir, 'conf');
    await fsp.mkdir(confDir);
    fs.writeFileSync(path.join(confDir, 'notify.sh'), '#!/bin/sh\nread -r event\necho "$BRI_HOOK $BRI_ARCHIVE_ID" >> hook.log\n', { mode: 0o755 });
    const config = path.join(confDir, 'bri.json');
    fs.writeFileSync(config, JSON.stringify({ archive: { hooks: { afterArchive: './notify.sh' }, restoreHooks: { beforeRestore: ['/bin/sh', '-c', 'echo "restores are frozen" >&2; exit 1'] } } }));

    const created = await runCli(['archive', 'create', '-d', dataDir, '--config', config, '--level', '1', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { archiveId, hookErrors } = JSON.parse(created.stdout) as { archiveId: string; hookErrors: string[] };
    expect(hookErrors).toEqual([]);
    expect(read(path.join(confDir, 'hook.log'))).toBe(`afterArchive ${archiveId}\n`);

    const restored = await runCli(['restore', 'latest', '-d', path.join(dir, 'elsewhere'), '-a', path.join(dataDir, 'archives'), '--config', config]);
    expect(restored.code, restored.stderr).toBe(50);
    expect(restored.stderr).toContain('restores are frozen');
    expect(fs.existsSync(path.join(dir, 'elsewhere'))).toBe(false);
  });
});

describe('function hooks that throw', () => {
  it('an onError that throws at once (not a rejected promise) leaves a finished archive and a swapped-in restore as they are: each reported once, never as a failure', async () => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'data');
    let onErrorCalls = 0;
    const hooks = {
      afterArchive: () => {
        throw new Error('afterArchive says no');
      },
      onError: () => {
        onErrorCalls++;
        throw new Error('onError broke');
      },
    };
    const db = await dbWithLines(dataDir, { hooks });
    const events: string[] = [];
    db.archive.on('failed', () => events.push('failed'));
    db.archive.on('finished', () => events.push('finished'));
    const made = await db.archive.create();
    expect(made.hookErrors).toEqual(['afterArchive: afterArchive says no']);
    expect(events).toEqual(['finished']);
    expect(onErrorCalls).toBe(1);
    expect(await bris(path.join(dataDir, 'archives'))).toEqual([`${made.archiveId}.bri`]);
    await db.close();
    const target = path.join(dir, 'restored');
    const r = await openRestore({ dataDir }).fromLatest({
      targetDir: target,
      hooks: {
        afterRestore: () => {
          throw new Error('afterRestore says no');
        },
        onError: () => {
          throw new Error('onError broke');
        },
      },
    });
    expect(r.hookErrors).toEqual(['afterRestore: afterRestore says no']);
    expect(fs.existsSync(path.join(target, 'snapshot.jss'))).toBe(true);
  });
});
