/**
 * The time-travel commands on the shared fixtures' checkpoints (data directories written by BRI):
 * `bri archive show --at` gives each document as the checkpoint has it, `bri restore diff` the
 * difference of two checkpoints, `bri archive history` every change of a document, and
 * `bri restore keys` rolls chosen keys back on the stopped database, the others untouched.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { toPlainState } from '../../src/format/state.js';
import { recover } from '../../src/store/recovery.js';
import { verifyChain } from '../../src/store/wal/chain.js';
import { runCli } from '../support/cli.js';
import { copyFixture, fixturesPresent, loadCheckpoints, normalizeState } from '../support/fixtures.js';
import { damageWalMember } from '../support/damage-member.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-cli-tt-');

const norm = (docs: Record<string, string>) => normalizeState({ documents: docs, collections: {} }).documents;

describe.skipIf(!fixturesPresent())('time travel on the fixtures, through the CLI', () => {
  it('show, diff, history and keys agree with the checkpoints of a directory BRI wrote', async () => {
    const dataDir = await copyFixture('small');
    const cps = loadCheckpoints('small');
    const made = await runCli(['archive', 'create', '-d', dataDir, '--level', '1', '--json']);
    expect(made.code, made.stderr).toBe(0);
    const cp = cps[2]!;
    const keys = Object.keys(cps.at(-1)!.state.documents).slice(0, 6);
    for (const key of keys) {
      const r = await runCli(['archive', 'show', key, '--at', String(cp.at), '-d', dataDir, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const shown = JSON.parse(r.stdout) as { key: string; at: string; exists: boolean; document: string | null };
      expect(shown.key).toBe(key);
      expect(shown.at).toBe(new Date(cp.at).toISOString());
      expect(shown.exists).toBe(cp.state.documents[key] !== undefined);
      if (shown.exists) expect(norm({ [key]: shown.document! })).toEqual(norm({ [key]: cp.state.documents[key]! }));
    }

    const a = cps[1]!;
    const b = cps[4]!;
    const d = await runCli(['restore', 'diff', '--at', String(a.at), '--to', String(b.at), '-d', dataDir, '--json']);
    expect(d.code, d.stderr).toBe(0);
    const diff = JSON.parse(d.stdout) as { added: string[]; changed: string[]; removed: string[]; sets: Record<string, { added: string[]; removed: string[] }> };
    const A = a.state.documents;
    const B = b.state.documents;
    const all = [...new Set([...Object.keys(A), ...Object.keys(B)])].sort();
    expect(diff.added).toEqual(all.filter((k) => !(k in A) && k in B));
    expect(diff.removed).toEqual(all.filter((k) => k in A && !(k in B)));
    const changed = all.filter((k) => k in A && k in B && A[k] !== B[k]);
    expect(diff.changed).toEqual(changed);
    for (const [s, v] of Object.entries(diff.sets)) {
      expect(v.added).toEqual((b.state.collections[s] ?? []).filter((m) => !(a.state.collections[s] ?? []).includes(m)).sort());
      expect(v.removed).toEqual((a.state.collections[s] ?? []).filter((m) => !(b.state.collections[s] ?? []).includes(m)).sort());
    }

    // A document changed between the checkpoints: its history holds each of its states at a checkpoint.
    const key = changed[0] ?? keys[0]!;
    const h = await runCli(['archive', 'history', key, '-d', dataDir, '--json']);
    expect(h.code, h.stderr).toBe(0);
    const entries = (JSON.parse(h.stdout) as { entries: Array<{ timestamp: number; value: string | null; action: string }> }).entries;
    expect(entries.length).toBeGreaterThan(0);
    for (const c of cps) {
      const last = entries.filter((e) => e.timestamp <= c.at).at(-1);
      const want = c.state.documents[key];
      if (want === undefined) expect(last === undefined || last.value === null).toBe(true);
      else expect(norm({ [key]: last!.value! })).toEqual(norm({ [key]: want }));
    }

    // Roll two keys back to the first checkpoint on the stopped database: they match it, the rest is as it was.
    const before = toPlainState((await recover(dataDir)).state);
    const chosen = [changed[0] ?? keys[0]!, diff.added[0] ?? keys[1]!];
    const dry = await runCli(['restore', 'keys', ...chosen, '--at', String(a.at), '-d', dataDir, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).writes).toBe(0);
    expect(toPlainState((await recover(dataDir)).state)).toEqual(before);
    const done = await runCli(['restore', 'keys', ...chosen, '--at', String(a.at), '-d', dataDir, '--json']);
    expect(done.code, done.stderr).toBe(0);
    const after = toPlainState((await recover(dataDir)).state);
    for (const k of chosen) {
      if (A[k] === undefined) expect(after.documents[k]).toBeUndefined();
      else expect(norm({ [k]: after.documents[k]! })).toEqual(norm({ [k]: A[k]! }));
    }
    for (const k of Object.keys(before.documents)) if (!chosen.includes(k)) expect(after.documents[k]).toBe(before.documents[k]);
    expect((await verifyChain(dataDir)).ok).toBe(true);

    // A moment before the first line (the first archive starts at line 0): nothing existed yet.
    const early = await runCli(['archive', 'show', keys[0]!, '--at', '2001-01-01T00:00:00Z', '-d', dataDir, '--json']);
    expect(early.code, early.stderr).toBe(0);
    expect(JSON.parse(early.stdout).exists).toBe(false);
    // A moment not come yet: TIMESTAMP_NOT_FOUND with the available range (exit 31).
    const late = await runCli(['archive', 'show', keys[0]!, '--at', '2999-01-01T00:00:00Z', '-d', dataDir]);
    expect(late.code).toBe(31);
    expect(late.stderr).toContain('TIMESTAMP_NOT_FOUND');
  }, 120_000);
});

describe('time travel through the CLI over a damaged copy', () => {
  it('answers on stdout from the copy repaired for it, says so on stderr (not with --quiet), and exits 0', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 4096, archive: { compression: { level: 1 } } } });
    let file: string;
    let member: string;
    let at: number;
    try {
      for (let i = 0; i < 300; i++) await db.set(`K${i % 30}`, { i, pad: 'y'.repeat(50) });
      at = Date.now();
      const info = await db.archive.create();
      const archive = await db.archive.get(info.archiveId);
      const local = archive.copies.find((c) => c.source === 'local')!;
      file = local.file ?? local.location;
      member = await damageWalMember(file, archive.manifest, 1);
    } finally {
      await db.close();
    }
    const want = toPlainState((await recover(dataDir)).state).documents['K7'];
    const r = await runCli(['archive', 'show', 'K7', '--at', String(at), '-d', dataDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout) as { exists: boolean; document: string };
    expect(shown.exists).toBe(true);
    expect(shown.document).toBe(want);
    expect(r.stderr).toContain(member);
    expect(r.stderr).toMatch(/repaired from its PAR2 data/);
    const quiet = await runCli(['archive', 'show', 'K7', '--at', String(at), '-d', dataDir, '--json', '--quiet']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(JSON.parse(quiet.stdout)).toEqual(JSON.parse(r.stdout));
    expect(quiet.stderr).toBe('');
  }, 60_000);
});

/** Every file below `dir` with its size and sha256: what a dry run must leave as it was. */
function fileTree(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out.push(`${path.relative(dir, p)} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
  }
  return out.sort();
}

describe('restore keys --dry-run', () => {
  it('changes no file of the data directory (answered or refused), and a database open elsewhere is refused as the real run refuses it', async () => {
    const dataDir = path.join(await tmp(), 'data');
    const db0 = await createDB({ storeConfig: { dataDir, archive: { compression: { level: 1 } } } });
    for (let i = 0; i < 10; i++) await db0.set(`K_${i}`, { v: 'before' });
    await db0.archive.create();
    const at = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 5; i++) await db0.set(`K_${i}`, { v: 'after' });
    await db0.close();
    const before = fileTree(dataDir);
    const dry = await runCli(['restore', 'keys', 'K_1', 'K_7', '--at', String(at), '-d', dataDir, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const r = JSON.parse(dry.stdout) as { dryRun: boolean; writes: number; items: Array<{ key: string; action: string }> };
    expect(r.dryRun).toBe(true);
    expect(r.items.find((i) => i.key === 'K_1')?.action).toBe('set');
    expect(r.items.find((i) => i.key === 'K_7')?.action).toBe('none');
    const refused = await runCli(['restore', 'keys', 'K_1', '--at', '2999-01-01T00:00:00Z', '-d', dataDir, '--dry-run']);
    expect(refused.code).not.toBe(0);
    expect(fileTree(dataDir)).toEqual(before);
    // Open elsewhere: LOCKED, for the dry run as for the real one.
    const open = await createDB({ storeConfig: { dataDir } });
    try {
      for (const extra of [['--dry-run'], []]) {
        const locked = await runCli(['restore', 'keys', 'K_1', '--at', String(at), '-d', dataDir, ...extra]);
        expect(locked.stderr, extra.join(' ')).toMatch(/LOCKED/);
      }
    } finally {
      await open.close();
    }
    // The real run writes the rollback.
    const real = await runCli(['restore', 'keys', 'K_1', '--at', String(at), '-d', dataDir, '--json']);
    expect(real.code, real.stderr).toBe(0);
    expect(toPlainState((await recover(dataDir)).state).documents.K_1).toBe(JSON.stringify({ v: 'before' }));
  }, 60_000);
});

