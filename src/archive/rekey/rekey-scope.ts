/**
 * Which instances a rekey run for a data directory rewraps: its own and the ones it continues, never another
 * database's. A clone archiving to its origin's remote sees the origin's archives and shipments there: rewrapped
 * for the clone's new key, the origin (still configured for its own recipients) could no longer open them.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { readArchiveState } from '../../store/archive-state.js';
import { instancesArchivedBy } from '../copies/archive-dir-owner.js';
import type { CatalogArchive } from '../copies/catalog.js';
import { LOCAL_SOURCE, type RemoteSource } from '../copies/sources.js';
import { SEEDS_DIR } from '../create/seeds.js';
import { parseShipmentKey } from '../shipping/shipment.js';

/** A seed's file name: `<instance>.<line>.` then its kind. */
const SEED_NAME = /^(.+)\.(\d+)\.(?:facts\.json|jss.*)$/;

/**
 * The data directory's instance and those of its own lineage: the instances it archived into its archive
 * directory (its earlier ones after a restore in place; bri-archive-dir.json records them), whatever archives
 * are there as local copies (an archive directory holds one database's), and the instances its seeds there are
 * kept for (a clone or a restore that has not archived yet). A clone's origin is none of these: it is another
 * live database, configured for its own recipients.
 */
export async function instancesOfThisDatabase(archiveDir: string, dataDir: string | undefined, archives: readonly CatalogArchive[]): Promise<Set<string>> {
  const own = new Set<string>();
  if (dataDir !== undefined) {
    const state = await readArchiveState(dataDir);
    if (state) own.add(state.instanceId);
    for (const i of await instancesArchivedBy(archiveDir, dataDir)) own.add(i);
  }
  for (const a of archives) if (a.copies.some((c) => c.source === LOCAL_SOURCE)) own.add(a.manifest.instanceId);
  for (const name of await fsp.readdir(path.join(archiveDir, SEEDS_DIR)).catch(() => [] as string[])) {
    const id = SEED_NAME.exec(name)?.[1];
    if (id !== undefined) own.add(id);
  }
  return own;
}

/** What a rekey saw of the shipments on one remote: others' left alone, and how many it rewrote before any failure. */
export interface ShipmentsSeen {
  otherInstances: Set<string>;
  othersLeft: number;
  rewritten: number;
}

/**
 * The remote as the shipments' rekey sees it: only `own` instances' shipments are listed (the others are
 * counted into `seen`), and each shipment put back is counted, so that a failure half way says how many
 * already open with the new recipients only.
 */
export function ownShipmentsOnly(remote: RemoteSource, own: ReadonlySet<string>, seen: ShipmentsSeen): RemoteSource {
  const store = remote.store;
  async function* list(prefix: string, opts?: Parameters<typeof store.list>[1]) {
    for await (const o of store.list(prefix, opts)) {
      const ref = parseShipmentKey(o.key, o.size);
      if (ref === null || own.has(ref.instanceId)) yield o;
      else {
        seen.otherInstances.add(ref.instanceId);
        seen.othersLeft++;
      }
    }
  }
  const put = async (...args: Parameters<typeof store.put>) => {
    const r = await store.put(...args);
    seen.rewritten++;
    return r;
  };
  // Everything else is the store's own, called on the store itself.
  const view = new Proxy(store, {
    get(target, prop) {
      if (prop === 'list') return list;
      if (prop === 'put') return put;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { ...remote, store: view };
}
