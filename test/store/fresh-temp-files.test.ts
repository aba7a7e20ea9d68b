/**
 * Temp files are made fresh, never opened through what stands at their name: the names are predictable
 * (`bri-archive.json.tmp`, `snapshot.jss.tmp`, `.seeds/<instance>.<line>.jss.zst.tmp`) in directories the
 * application's user owns, and root's cron job wrote bri's JSON into the file a link planted there named,
 * then gave that file to the application's user.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { commitFile, writeFileDurable } from '../../src/store/durable-fs.js';
import { compressToFile } from '../../src/archive/package/compress.js';
import { writeSealedSeed } from '../../src/archive/create/seeds.js';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { APP_GID, APP_UID, NEEDS_ROOT, appWrites, isRoot, openToApp, rootCli } from '../support/app-user.js';
import { useTempDirs } from '../support/temp-dirs.js';
import { expectUntouched, plantLink, privateFile as makePrivateFile } from '../support/planted-links.js';

const tmp = useTempDirs('bri-fresh-temp-');

/** A private file (root's when run as root) that no write of bri may reach. */
const privateFile = async (): Promise<string> => makePrivateFile(await tmp());

describe('a link planted at a temp name is replaced, never written through', () => {
  it('writeFileDurable: bri-archive.json.tmp linked to another file leaves that file as it was', async () => {
    const victim = await privateFile();
    const dir = await tmp();
    plantLink(path.join(dir, 'bri-archive.json.tmp'), victim);
    await writeFileDurable(path.join(dir, 'bri-archive.json'), '{"a":1}');
    expect(fs.readFileSync(path.join(dir, 'bri-archive.json'), 'utf8')).toBe('{"a":1}');
    expectUntouched(victim);
  });

  it('compressToFile, on the worker thread and inline: an output name linked to another file leaves that file as it was', async () => {
    const victim = await privateFile();
    const dir = await tmp();
    for (const offThread of [true, false]) {
      const out = path.join(dir, `seed.${offThread}.jss.zst.tmp`);
      plantLink(out, victim);
      const r = await compressToFile(Readable.from([Buffer.from('{"x":1}\n'.repeat(1000))]), out, { level: 3, offThread });
      expect(fs.lstatSync(out).isFile()).toBe(true);
      expect(fs.statSync(out).size).toBe(r.compressedSize);
    }
    expectUntouched(victim);
  });

  it('writeSealedSeed: its .jss.zst.age.tmp linked to another file leaves that file as it was', async () => {
    const victim = await privateFile();
    const archiveDir = await tmp();
    fs.mkdirSync(path.join(archiveDir, '.seeds'));
    plantLink(path.join(archiveDir, '.seeds', 'inst.7.jss.zst.age.tmp'), victim);
    const to = { recipients: [await identityToRecipient(await generateIdentity())] };
    await writeSealedSeed(archiveDir, 'inst', 7, '{"x":1}', undefined, to, false);
    expect(fs.lstatSync(path.join(archiveDir, '.seeds', 'inst.7.jss.zst.age')).isFile()).toBe(true);
    expectUntouched(victim);
  });

  it('commitFile: a temp file that became a link is refused, and the file it names keeps its owner and mode', async () => {
    const victim = await privateFile();
    const dir = await tmp();
    const temp = path.join(dir, 'x.json.tmp');
    plantLink(temp, victim);
    await expect(commitFile(temp, path.join(dir, 'x.json'))).rejects.toMatchObject({ code: 'ELOOP' });
    expect(fs.existsSync(path.join(dir, 'x.json'))).toBe(false);
    expectUntouched(victim);
  });

  it('commitFile: a temp file that became another file\'s second name (a hard link) is refused with IO_ERROR, that file untouched', async () => {
    const victim = await privateFile();
    const dir = await tmp();
    const temp = path.join(dir, 'x.json.tmp');
    fs.linkSync(victim, temp);
    await expect(commitFile(temp, path.join(dir, 'x.json'))).rejects.toMatchObject({ code: 'IO_ERROR', details: { path: temp } });
    expectUntouched(victim);
  });
});

describe.skipIf(!isRoot)(`root's archive create and cleanup-wal on the application's directory${NEEDS_ROOT}`, () => {
  it('follow no link the application planted at bri-archive.json.tmp, snapshot.jss.tmp or the next seed\'s .jss.zst.tmp', async () => {
    const victim = await privateFile();
    const parent = await tmp();
    openToApp(parent);
    fs.chownSync(parent, APP_UID, APP_GID);
    const dataDir = path.join(parent, 'data');
    const made = await appWrites(dataDir, 3);
    expect(made.stdout.trim(), made.stderr).toBe('ok');
    plantLink(path.join(dataDir, 'bri-archive.json.tmp'), victim);
    const first = await rootCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(first.code, first.stderr).toBe(0);
    expectUntouched(victim);

    const seeds = path.join(dataDir, 'archives', '.seeds');
    const [seed] = fs.readdirSync(seeds).filter((n) => n.endsWith('.jss.zst'));
    const [, instance, line] = /^(.+)\.(\d+)\.jss\.zst$/.exec(seed!)!;
    const more = await appWrites(dataDir, 3);
    expect(more.stdout.trim(), more.stderr).toBe('ok');
    // The next archive's end line is a few lines on: every near one is planted.
    for (let l = Number(line) + 1; l <= Number(line) + 12; l++) plantLink(path.join(seeds, `${instance}.${l}.jss.zst.tmp`), victim);
    plantLink(path.join(dataDir, 'snapshot.jss.tmp'), victim);
    const second = await rootCli(['archive', 'create', '-d', dataDir, '-q']);
    expect(second.code, second.stderr).toBe(0);
    expect(fs.readdirSync(seeds).filter((n) => n.endsWith('.jss.zst') && n !== seed)).toHaveLength(1);
    plantLink(path.join(dataDir, 'snapshot.jss.tmp'), victim);
    const cleaned = await rootCli(['archive', 'cleanup-wal', '-d', dataDir, '-q']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expectUntouched(victim);
  }, 120_000);
});
