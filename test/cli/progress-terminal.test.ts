/**
 * The progress bar on a real terminal (the CLI run under `script`, which gives it a pseudo-terminal): a warning
 * said while the bar is drawn went on the bar's line and the bar's last clear erased it; `restore -q` dropped the
 * warning; Ctrl-C left the user's terminal with the cursor hidden and line wrapping off.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDB } from '../../src/db.js';
import { runCli } from '../support/cli.js';
import { REPO_ROOT } from '../support/child.js';
import { useTempDirs } from '../support/temp-dirs.js';

const tmp = useTempDirs('bri-progress-tty-');
const hasScript = spawnSync('script', ['--version']).status === 0;
const CLI = `'${process.execPath}' --import tsx src/cli/main.ts`;

/**
 * What an 80-column terminal shows of a transcript, as logical lines (a line that wraps stays one): the few
 * sequences the bar uses; with line wrapping off (ESC[?7l) what passes the last column is lost.
 */
function screen(raw: string, cols = 80): string[] {
  const lines: string[] = [''];
  let row = 0;
  let col = 0;
  let wraps = true;
  let saved = { row: 0, col: 0 };
  const put = (ch: string) => {
    const at = wraps ? col : Math.min(col, cols - 1);
    const line = (lines[row] ?? '').padEnd(at, ' ');
    lines[row] = line.slice(0, at) + ch + line.slice(at + 1);
    col = wraps ? col + 1 : Math.min(col + 1, cols - 1);
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\x1b') {
      const m = /^\x1b(?:\[\??([0-9;]*)([A-Za-z])|([78]))/.exec(raw.slice(i));
      if (!m) continue;
      i += m[0].length - 1;
      if (m[3] === '7') saved = { row, col };
      else if (m[1] === '7' && (m[2] === 'h' || m[2] === 'l')) wraps = m[2] === 'h';
      else if (m[3] === '8') ({ row, col } = saved);
      else if (m[2] === 'K') lines[row] = m[1] === '2' ? '' : (lines[row] ?? '').slice(0, col);
      else if (m[2] === 'G') col = Math.max(0, Number(m[1] || 1) - 1);
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
      lines[row] ??= '';
    } else if (ch >= ' ') put(ch);
  }
  return lines.map((l) => l.trimEnd());
}

/** A data directory archived to a NAS copy that is damaged beyond repair, the NAS tried first, the local copy whole. */
async function damagedFirstSource(): Promise<{ dataDir: string; configFile: string; root: string }> {
  const root = await tmp();
  const configFile = path.join(root, 'cfg.json');
  const config = { remotes: [{ provider: 'local', name: 'nas', path: path.join(root, 'nas') }], restoreSources: ['nas', 'local'] };
  fs.writeFileSync(configFile, JSON.stringify(config));
  fs.mkdirSync(path.join(root, 'nas'));
  const dataDir = path.join(root, 'data');
  const db = await createDB({ storeConfig: { dataDir, archive: { ...config, compression: { level: 1 } } as never } });
  for (let i = 0; i < 300; i++) await db.set(`k${i}`, { v: randomBytes(1500).toString('base64') });
  const a = await db.archive.create();
  await db.close();
  const f = path.join(root, 'nas', (fs.readdirSync(path.join(root, 'nas'), { recursive: true }) as string[]).find((n) => n.endsWith(`${a.archiveId}.bri`))!);
  const b = fs.readFileSync(f);
  b.fill(7, 5000, b.length - 5000);
  fs.writeFileSync(f, b);
  return { dataDir, configFile, root };
}

/** Runs a shell command line on a pseudo-terminal; resolves with everything the terminal was sent. */
function onTerminal(line: string, whileRunning?: () => Promise<void>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], { cwd: REPO_ROOT, env: { ...process.env, BRI_ENCRYPTION_KEY: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(out));
    void whileRunning?.().catch(reject);
  });
}

describe.skipIf(!hasScript)('the progress bar on a terminal', () => {
  it('a source passed over during a restore is said on its own line, still on screen after the bar is gone', async () => {
    const { dataDir, configFile, root } = await damagedFirstSource();
    const raw = await onTerminal(`${CLI} restore latest -d '${dataDir}' --config '${configFile}' --target '${path.join(root, 't1')}'; echo rc=$?`);
    const shown = screen(raw);
    const warning = shown.find((l) => l.includes('trying the next source'));
    expect(warning, shown.join('\n')).toMatch(/^nas: .*; trying the next source$/);
    expect(shown.join('\n')).toContain('rc=0');
  }, 120_000);

  it('restore -q still says the source it passed over (as download -q does)', async () => {
    const { dataDir, configFile, root } = await damagedFirstSource();
    const r = await runCli(['restore', 'latest', '-d', dataDir, '--config', configFile, '--target', path.join(root, 'q1'), '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^nas: .*; trying the next source$/m);
  }, 120_000);

  it('Ctrl-C while the bar is drawn gives the terminal back (cursor shown, line wrapping on) and exits 130', async () => {
    const root = await tmp();
    const dataDir = path.join(root, 'data');
    const started = path.join(root, 'hook-started');
    const pidFile = path.join(root, 'pid');
    const configFile = path.join(root, 'cfg.json');
    fs.writeFileSync(configFile, JSON.stringify({ compression: { level: 1 }, hooks: { afterArchive: `touch '${started}'; sleep 30` } }));
    const db = await createDB({ storeConfig: { dataDir } });
    for (let i = 0; i < 50; i++) await db.set(`k${i}`, { v: i });
    await db.close();
    const raw = await onTerminal(`sh -c 'echo $$ > "${pidFile}"; exec ${CLI} archive create -d "${dataDir}" --config "${configFile}"'; echo rc=$?`, async () => {
      // The bar is drawn through the afterArchive hook: the archive's progress came before it.
      for (const end = Date.now() + 60_000; !fs.existsSync(started); ) {
        if (Date.now() > end) throw new Error('the hook never started');
        await new Promise((r) => setTimeout(r, 50));
      }
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGINT');
    });
    const hidden = raw.lastIndexOf('\x1b[?25l');
    expect(hidden, 'the bar was drawn').toBeGreaterThan(-1);
    expect(raw.indexOf('\x1b[?25h', hidden), 'cursor shown again').toBeGreaterThan(hidden);
    expect(raw.indexOf('\x1b[?7h', hidden), 'line wrapping on again').toBeGreaterThan(hidden);
    expect(screen(raw)).toContain('rc=130');
  }, 120_000);
});
