/**
 * Runs one PAR2 operation of ours in its own process, so that bench/par2.ts
 * can measure its peak RSS the same way as par2cmdline's (the whole process,
 * worker threads included).
 *
 *   par2-runner.ts create <data> <out.par2> [redundancy]
 *   par2-runner.ts verify <set.par2> <data>
 *   par2-runner.ts repair <set.par2> <data> <out>
 *   par2-runner.ts baseline            (loads everything, does nothing)
 *
 * Prints one result line (bench/lib/child.ts): the operation's own wall time
 * (opMs, from just before the call to just after, so Node's and tsx's
 * start-up are excluded), the process's CPU time, its peak RSS as Node sees
 * it, and a result summary.
 */

import { stat } from 'node:fs/promises';
import { createPar2, readPar2Set, repairPar2, verifyPar2 } from '../src/archive/par2/index.js';
import { reportResult } from './lib/child.js';

async function run(op: string, args: string[]): Promise<Record<string, unknown>> {
  switch (op) {
    case 'create': {
      const [data, out, redundancy] = args;
      if (data === undefined || out === undefined) throw new Error('create <data> <out.par2> [redundancy]');
      const { size } = await stat(data);
      const name = data.split('/').pop()!;
      const r = await createPar2({ path: data, length: size, name }, out, { redundancy: redundancy === undefined ? 0.1 : Number(redundancy) });
      return { ...r };
    }
    case 'verify': {
      const [set, data] = args;
      if (set === undefined || data === undefined) throw new Error('verify <set.par2> <data>');
      const s = await readPar2Set([set]);
      const v = await verifyPar2(s, { path: data });
      return { intact: v.intact, damaged: v.damagedBlocks.length, totalBlocks: v.totalBlocks };
    }
    case 'repair': {
      const [set, data, out] = args;
      if (set === undefined || data === undefined || out === undefined) throw new Error('repair <set.par2> <data> <out>');
      const s = await readPar2Set([set]);
      const r = await repairPar2(s, { path: data }, out);
      return { repaired: r.repairedBlocks.length, bytes: r.bytesWritten };
    }
    case 'baseline':
      // Loads the PAR2 modules and does nothing: Node + tsx + our code at rest, for comparison.
      return {};
    default:
      throw new Error(`unknown operation ${op}`);
  }
}

const [op = '', ...args] = process.argv.slice(2);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
try {
  const result = await run(op, args);
  const opMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  reportResult({ op, opMs, cpuMs: (cpu.user + cpu.system) / 1000, result });
} catch (err) {
  process.stderr.write(`par2-runner ${op}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
}
