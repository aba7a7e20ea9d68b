/**
 * A hook command that starts with environment assignments (`SLACK_TOKEN=xoxb-... ./notify.sh`): its failure
 * named the command by its first word, the assignment, so the token was printed in HOOK_FAILED (text and
 * --json), in BRI_ERROR_MESSAGE and in the onError event.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCommand } from '../../../src/archive/jobs/command-hook.js';
import { createDB } from '../../../src/db.js';
import { runCli } from '../../support/cli.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-hook-env-');
const TOKEN = 'xoxb-SECRET-4242';

describe('a failing hook command that starts with NAME=value words', () => {
  it('is named by its program, from the CLI, --json, BRI_ERROR_MESSAGE and the onError event alike, never with the value', async () => {
    const dir = await tempDir();
    const dataDir = path.join(dir, 'data');
    const db = await createDB({ storeConfig: { dataDir } });
    await db.set('k', { v: 1 });
    await db.close();
    const config = path.join(dir, 'bri.json');
    const errorLog = path.join(dir, 'on-error.log');
    const onError = `cat > "${errorLog}.json"; echo "$BRI_ERROR_MESSAGE" > "${errorLog}"`;
    fs.writeFileSync(config, JSON.stringify({ archive: { hooks: { beforeArchive: `SLACK_TOKEN=${TOKEN} ./notify.sh --channel ops`, onError } } }));

    const text = await runCli(['archive', 'create', '-d', dataDir, '--config', config]);
    expect(text.code).not.toBe(0);
    expect(text.stderr).toContain('hook beforeArchive (./notify.sh) exited with 127');
    const json = await runCli(['archive', 'create', '-d', dataDir, '--config', config, '--json']);
    expect(json.code).not.toBe(0);
    expect(`${json.stdout}${json.stderr}`).toContain('(./notify.sh)');
    const told = `${await fsp.readFile(errorLog, 'utf8')}${await fsp.readFile(`${errorLog}.json`, 'utf8')}`;
    expect(told).toContain('hook beforeArchive (./notify.sh) exited with 127');
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr, told]) expect(out).not.toContain('SECRET');
  });

  it('skips quoted values and several assignments; a value whose quote never closes is not shown', () => {
    expect(describeCommand({ command: `A=1 TOKEN="xoxb ${TOKEN}" B='it is ${TOKEN}' C=a\\ b  /usr/bin/notify --x` })).toBe('/usr/bin/notify');
    expect(describeCommand({ command: `TOKEN="${TOKEN} ./notify.sh` })).not.toContain('SECRET');
    expect(describeCommand({ command: `TOKEN=${TOKEN}` })).not.toContain('SECRET');
    expect(describeCommand({ command: [`TOKEN=${TOKEN}`, './notify.sh'] })).not.toContain('SECRET');
    expect(describeCommand({ command: 'echo hi' })).toBe('echo');
  });
});
