/** `bri archive history|show`, `bri restore diff|keys`: questions about the past, answered from the archives without a restore. */
import { openOfflineRestore, withStoppedDatabase, type RestoreApi } from '../../archive/offline.js';
import { EXIT_OK } from '../exit-codes.js';
import type { CommandOptions, PastOptions } from '../options.js';
import { formatTime, printable, printableMembers, printableValue, printJson, printLine, printWarning } from '../output.js';

type Where = Pick<Parameters<RestoreApi['read']>[1], 'source' | 'instanceId' | 'identity' | 'onSourceProblem'>;

async function withPast(o: PastOptions, fn: (api: RestoreApi, at: Where) => Promise<number>): Promise<number> {
  const api = await openOfflineRestore({ dataDir: o.dataDir, ...(o.configFile !== undefined ? { configFile: o.configFile } : {}), ...(o.archiveDir !== undefined ? { archiveDir: o.archiveDir } : {}) });
  // A copy passed over or repaired to answer is said on stderr (the answer on stdout stays whole, --json included).
  const told = o.quiet ? {} : { onSourceProblem: (p: { source: string; reason: string }) => printWarning(`${p.source}: ${p.reason}`, o.json, { source: p.source, reason: p.reason }) };
  try {
    return await fn(api, { ...(o.source !== undefined ? { source: o.source } : {}), ...(o.instanceId !== undefined ? { instanceId: o.instanceId } : {}), ...(o.identity !== undefined ? { identity: o.identity } : {}), ...told });
  } finally {
    await api.close().catch(() => undefined);
  }
}

const show = (v: string | null | string[] | undefined) => (v === null || v === undefined ? '(none)' : Array.isArray(v) ? members(v) : printableValue(v));
const members = printableMembers;

export const timeTravelHandlers = {
  'archive history': (o: CommandOptions['archive history']) =>
    withPast(o, async (api, where) => {
      const h = await api.history(o.key, { ...where, ...(o.from !== undefined ? { from: o.from } : {}), ...(o.to !== undefined ? { to: o.to } : {}) });
      // (What it could not read is also said on stderr, unless --quiet.)
      if (o.json) printJson({ key: h.key, entries: h.entries, ...(h.missing.length ? { missing: h.missing } : {}) });
      else {
        const lines = h.entries.map((e) => `${formatTime(e.timestamp)}  line ${e.line}  ${e.action.padEnd(6)} ${printable(e.key)}${e.renamedFrom !== undefined ? ` (from ${printable(e.renamedFrom)})` : ''}  ${e.members ? show(e.members) : show(e.value)}`);
        printLine(lines.length ? lines.join('\n') : `no change to ${printable(o.key)}`, o);
      }
      return EXIT_OK;
    }),

  'archive show': (o: CommandOptions['archive show']) =>
    withPast(o, async (api, where) => {
      const r = await api.read(o.key, { ...where, at: o.at });
      if (o.json) printJson({ key: r.key, at: new Date(r.at).toISOString(), exists: r.exists, document: r.document, ...(r.members ? { members: r.members } : {}) });
      else printLine(r.exists ? [...(r.document !== null && r.document !== undefined ? [show(r.document)] : []), ...(r.members ? [show(r.members)] : [])].join('\n') : `${printable(o.key)} did not exist at ${formatTime(o.at)}`, o);
      return EXIT_OK;
    }),

  'restore diff': (o: CommandOptions['restore diff']) =>
    withPast(o, async (api, where) => {
      const d = await api.diff({ ...where, at: o.at, ...(o.to !== undefined ? { to: o.to } : {}) });
      if (o.json) printJson({ added: d.added, changed: d.changed, removed: d.removed, sets: d.sets });
      else {
        const sets = Object.entries(d.sets).map(([k, v]) => `~ ${printable(k)}${v.added.length ? ` +${members(v.added)}` : ''}${v.removed.length ? ` -${members(v.removed)}` : ''}`);
        const lines = [...d.added.map((k) => `+ ${printable(k)}`), ...d.changed.map((k) => `* ${printable(k)}`), ...d.removed.map((k) => `- ${printable(k)}`), ...sets];
        printLine(lines.length ? lines.join('\n') : 'no difference', o);
      }
      return EXIT_OK;
    }),

  'restore keys': (o: CommandOptions['restore keys']) =>
    withPast(o, async (api, where) => {
      // A stopped database, opened under its lock for the writes (they go through the WAL like any other).
      return withStoppedDatabase(o.dataDir, async (live) => {
        const target = o.prefix !== undefined ? { prefix: o.prefix, keys: o.keys } : o.keys;
        const r = await api.rollback(target, { ...where, at: o.at, dryRun: o.dryRun, live });
        if (o.json) printJson({ at: new Date(r.at).toISOString(), dryRun: r.dryRun, writes: r.writes, items: r.items });
        else {
          const lines = r.items.map((i) => `${i.action === 'none' ? '=' : o.dryRun ? '~' : '!'} ${printable(i.key)} (${i.kind}): now ${show(i.now)}; at ${formatTime(o.at)} ${show(i.atT)}${i.action === 'none' ? '' : o.dryRun ? `; would ${i.action}` : `; ${i.action}`}`);
          printLine([...lines, o.dryRun ? 'dry run: nothing written' : `${r.writes} writes`].join('\n'), o);
        }
        return EXIT_OK;
      }, { readOnly: o.dryRun });
    }),
};
