/**
 * A running application short of file handles (EMFILE): every handle but `spare` is taken, then an archive is
 * verified, read from and cloned. Prints one JSON line per call: `{ call, spare, ok?, report?, error? }`.
 * Run under a low `ulimit -n` (the test does), so that taking every handle is quick.
 * Usage: few-file-handles.ts <work dir> <largest spare>
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createDB } from '../../../src/db.js';

const [work, most] = [process.argv[2]!, Number(process.argv[3] ?? 8)];
const db = await createDB({ storeConfig: { dataDir: path.join(work, 'data'), fsyncMode: 'batched' } });
for (let i = 0; i < 300; i++) await db.set(`A${i}`, { v: `${i}-${'x'.repeat(300)}` });
const first = (await db.archive.create()).archiveId;
for (let i = 0; i < 30; i++) await db.set(`B${i}`, { v: i });
await db.archive.create();

const said = (err: unknown) => {
  const e = err as { code?: string; message?: string; hint?: string; details?: Record<string, unknown> };
  return { code: e.code, message: e.message, hint: e.hint, details: e.details };
};
const print = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

for (let spare = 1; spare <= most; spare++) {
  const held: number[] = [];
  try {
    for (;;) held.push(fs.openSync('/dev/null', 'r'));
  } catch {
    // EMFILE: every handle is taken
  }
  for (let i = 0; i < spare; i++) fs.closeSync(held.pop()!);
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['verify', () => db.archive.verify(first)],
    ['read', () => db.restore.read('A1', { at: new Date().toISOString() })],
    ['clone', () => db.restore.clone({ targetDir: path.join(work, `clone${spare}`) })],
  ];
  const results: object[] = [];
  for (const [call, run] of calls) {
    try {
      const r = (await run()) as { ok?: boolean; problems?: string[]; dataIntact?: boolean; restorable?: boolean } | undefined;
      results.push({ call, spare, ok: true, ...(call === 'verify' ? { report: { ok: r?.ok, problems: r?.problems, dataIntact: r?.dataIntact, restorable: r?.restorable } } : {}) });
    } catch (err) {
      results.push({ call, spare, ok: false, error: said(err) });
    }
  }
  for (const fd of held) fs.closeSync(fd);
  results.forEach(print);
}
print({ left: fs.readdirSync(work).filter((n) => n.includes('.restore-')) });
await db.close();
