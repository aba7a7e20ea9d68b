/**
 * An application whose event listeners all throw (a bug of its own), with continuous shipping to a
 * local remote: it writes, archives, lets the shipper tick from its timers, and closes. It prints
 * what each call answered; the test reads that and the exit code (an unhandled rejection would be 1).
 */
import { createDB } from '../../../src/db.js';

const [dataDir, nas] = process.argv.slice(2) as [string, string];
const warnings: string[] = [];
process.on('warning', (w) => warnings.push(`${(w as { code?: string }).code}`));
const db = await createDB({ storeConfig: { dataDir, walSegmentSize: 600, archive: { compression: { level: 1 }, remotes: [{ provider: 'local', name: 'nas', path: nas }], continuous: { enabled: true, intervalMs: 20 } } } });
const seen: string[] = [];
for (const ev of ['started', 'progress', 'upload', 'cleanup', 'finished', 'skipped', 'failed', 'shipping'] as const) {
  db.archive.on(ev, () => {
    seen.push(ev);
    throw new Error(`bug in my ${ev} listener`);
  });
}
// A second listener per event, async and rejecting: it is still called after the first one threw, and its rejection is no unhandled one.
const heard: string[] = [];
for (const ev of ['started', 'finished', 'shipping'] as const) {
  db.archive.on(ev, async () => {
    heard.push(ev);
    throw new Error(`bug in my async ${ev} listener`);
  });
}
let onError = 0;
const out: Record<string, unknown> = {};
for (let i = 0; i < 30; i++) await db.set(`K_${i}`, { i, pad: 'p'.repeat(40) });
try {
  const made = await db.archive.create({ onProgress: async () => { throw new Error('bug in my async progress callback'); } });
  out.create = { ok: true, uploads: made.uploads.map((u) => u.outcome) };
} catch (err) {
  out.create = { ok: false, code: (err as { code?: string }).code, message: (err as Error).message };
}
try {
  await db.archive.create();
  out.again = { ok: true };
} catch (err) {
  out.again = { ok: false, code: (err as { code?: string }).code };
}
for (let i = 30; i < 60; i++) await db.set(`K_${i}`, { i, pad: 'p'.repeat(40) });
// Timer-driven shipping ticks run with the throwing 'shipping' listener (until they caught up, or 20 s on a loaded machine).
for (let waited = 0; waited < 20_000 && db.archive.shippingStatus().some((s) => s.lagLines > 0); waited += 100) await new Promise((r) => setTimeout(r, 100));
out.status = db.archive.shippingStatus().map((s) => ({ source: s.source, lastError: s.lastError, lagLines: s.lagLines }));
await db.close();
// A restore's callbacks, sync and async, throwing at the first event and at 'done': the restore is made and said made.
const { openRestore } = await import('../../../src/archive/restore-api.js');
const restorer = openRestore({ dataDir });
const restored: unknown[] = [];
for (const [i, onProgress] of [() => { throw new Error('sync'); }, async () => { throw new Error('async'); }, (p: { phase: string }) => { if (p.phase === 'done') throw new Error('at done'); }].entries()) {
  try {
    const res = await restorer.fromLatest({ targetDir: `${dataDir}-restored-${i}`, onProgress });
    restored.push({ ok: true, lastLine: res.lastLine });
  } catch (err) {
    restored.push({ ok: false, code: (err as { code?: string }).code, message: (err as Error).message });
  }
}
out.restored = restored;
out.heard = [...new Set(heard)].sort();
out.seen = [...new Set(seen)].sort();
out.onError = onError;
out.warnings = [...new Set(warnings)];
console.log(JSON.stringify(out));
