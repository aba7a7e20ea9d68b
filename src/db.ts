/**
 * createDB(): the store on a data directory, plus db.archive and db.restore
 * (wired in as those layers land).
 */
import { BriStore, type StoreConfig } from './store/store.js';

export interface CreateDBOptions {
  storeConfig: StoreConfig;
}

export type BriDB = BriStore;

/** Opens the data directory (recovering it) and returns the database. */
export async function createDB(options: CreateDBOptions): Promise<BriDB> {
  return BriStore.open(options.storeConfig);
}
