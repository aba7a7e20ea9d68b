/**
 * Cold files the store met without a word: two files naming one key (one silently won).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { encodeJss } from '../../src/format/jss.js';
import { runCli } from '../support/cli.js';
import { copyFixture, fixturesPresent } from '../support/fixtures.js';

const DOC = 'USER_9t7ey9m';

/** The `small` fixture with DOC evicted: left out of snapshot.jss; returns the document as the store served it. */
async function withEvicted(): Promise<{ dataDir: string; value: Record<string, unknown> }> {
  const dataDir = await copyFixture('small');
  const db = await createDB({ storeConfig: { dataDir } });
  const value = db.get(DOC) as Record<string, unknown>;
  await db.close();
  const file = path.join(dataDir, 'snapshot.jss');
  const snap = JSON.parse(await fsp.readFile(file, 'utf8')) as { documents: Record<string, unknown> };
  delete snap.documents[DOC];
  await fsp.writeFile(file, JSON.stringify(snap));
  return { dataDir, value };
}

async function writeCold(dataDir: string, rel: string, text: string, mtime?: Date): Promise<void> {
  await fsp.mkdir(path.dirname(path.join(dataDir, rel)), { recursive: true });
  await fsp.writeFile(path.join(dataDir, rel), text);
  if (mtime) await fsp.utimes(path.join(dataDir, rel), mtime, mtime);
}

describe.runIf(fixturesPresent())('cold tier edge cases', () => {
  it('two files naming one key: the store reads <id>.jss (the name BRI writes), and data verify names both and which is newer', async () => {
    const { dataDir, value } = await withEvicted();
    await writeCold(dataDir, 'cold/USER/9t7ey9m.jss', encodeJss(value), new Date(1_700_000_000_000));
    await writeCold(dataDir, 'cold/USER/USER_9t7ey9m.jss', encodeJss({ ...value, name: 'the other file' }), new Date(1_800_000_000_000));

    const r = await runCli(['data', 'verify', '-d', dataDir, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { cold: { ok: boolean; duplicates: unknown[] }; problems: string[] };
    expect(report.cold.ok).toBe(false);
    expect(report.cold.duplicates).toEqual([{ key: DOC, served: 'cold/USER/9t7ey9m.jss', ignored: ['cold/USER/USER_9t7ey9m.jss'] }]);
    expect(report.problems.join('\n')).toContain('the store reads cold/USER/9t7ey9m.jss (the name BRI writes and reads back) and leaves cold/USER/USER_9t7ey9m.jss unread; cold/USER/USER_9t7ey9m.jss is the newest by its time');

    const db = await createDB({ storeConfig: { dataDir } });
    expect(db.get(DOC)).toEqual(value);
    await db.close();
  });

});
