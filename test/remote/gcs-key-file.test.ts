/**
 * A GCS keyFilename pointing at a file that is not valid JSON (cut short, edited by hand): the library said
 * only "key must be a string, a buffer or an object", naming neither the file nor what is wrong with it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isBriError } from '../../src/errors.js';
import { createRemote } from '../../src/remote/registry.js';
import { useTempDirs } from '../support/temp-dirs.js';

process.env.METADATA_SERVER_DETECTION = 'none';
const tempDir = useTempDirs('bri-gcs-key-');

describe('a gcs keyFilename that is not valid JSON', () => {
  it('is CONFIG_INVALID naming the file and that it is not valid JSON, quoting nothing of it', async () => {
    const keyFile = path.join(await tempDir(), 'sa.json');
    fs.writeFileSync(keyFile, '{ "type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nKEYBYTESdonotprint');
    const store = createRemote({ provider: 'gcs', bucket: 'bri-test', keyFilename: keyFile }, { retry: false });
    const err = await (async () => {
      for await (const _ of store.list('archives/')) break;
    })().catch((e: unknown) => e);
    await store.close();
    expect(isBriError(err, 'CONFIG_INVALID'), inspect(err)).toBe(true);
    expect((err as Error).message).toContain(`remote.gcs.keyFilename: the key file ${keyFile} is not valid JSON`);
    expect((err as { hint?: string }).hint).toMatch(/service account key file/);
    expect(inspect(err, { depth: 20 })).not.toContain('KEYBYTES');
  });
});
