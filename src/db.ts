/**
 * createDB(): the store on a data directory, plus db.archive (and db.restore
 * as that layer lands).
 */
import { ArchiveApi, type ArchiveConfig } from './archive/archive-api.js';
import { BriStore, type StoreConfig } from './store/store.js';

export interface DBStoreConfig extends StoreConfig {
  archive?: ArchiveConfig;
}

export interface CreateDBOptions {
  storeConfig: DBStoreConfig;
}

export type BriDB = BriStore & { readonly archive: ArchiveApi };

/** Opens the data directory (recovering it) and returns the database. */
export async function createDB(options: CreateDBOptions): Promise<BriDB> {
  const store = await BriStore.open(options.storeConfig);
  const key = store.encryptionKey;
  const archive = new ArchiveApi(
    {
      dataDir: store.dataDir,
      ...(key ? { key } : {}),
      seal: (removedLines) => store.sealForArchive(removedLines),
      // The open store holds the directory's lock; in-process exclusivity is the API's own queue.
      exclusive: (fn) => fn(),
    },
    options.storeConfig.archive,
  );
  return Object.assign(store, { archive }) as BriDB;
}
