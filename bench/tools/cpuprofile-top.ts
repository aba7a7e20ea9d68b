/**
 * Summarises V8 CPU profiles (from `node --cpu-prof`) by self time per function.
 *
 *   BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=.bench/prof" npm run bench -- --only store --quick
 *   npx tsx bench/tools/cpuprofile-top.ts .bench/prof/*.cpuprofile [--top 30]
 *
 * Each file is one thread; the tsx loader's worker thread shows up as a mostly idle profile.
 * Under tsx, positions are those of the transpiled code: read the function names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function summarise(file: string, top: number): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    if (n === undefined) return;
    const url = n.callFrame.url.split('/').slice(-2).join('/');
    const key = `${n.callFrame.functionName || '(anonymous)'}${url ? `  ${url}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const lines = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
  return [`${path.basename(file)}: ${(total / 1000).toFixed(0)} ms sampled`, ...lines].join('\n');
}

const args = process.argv.slice(2);
const ti = args.indexOf('--top');
const top = ti >= 0 ? Number(args[ti + 1]) : 25;
const files = args.filter((a, i) => a !== '--top' && i !== ti + 1);
if (files.length === 0) console.log('usage: tsx bench/tools/cpuprofile-top.ts FILE.cpuprofile... [--top N]');
for (const f of files) console.log(`${summarise(f, top)}\n`);
