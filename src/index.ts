/** The public API. Explicit re-exports only. */
export { createDB, type CreateDBOptions, type BriDB } from './db.js';
export { BriError, ErrorCodes, isBriError, type ErrorCode } from './errors.js';
export { BriStore, type StoreConfig, type WriteAck, type SnapshotInfo, type StoreInfo } from './store/store.js';
export { verifyChain, ChainVerifier, type ChainReport, type ChainBreak } from './store/chain.js';
export { recover, type RecoveryOptions, type RecoveryResult } from './store/recovery.js';
export { collectStats, type DataDirStats } from './store/stats.js';
export { encodeJss, decodeJss } from './format/jss.js';
export { computePointer } from './format/pointer.js';
export { parseWalLine, serializeWalLine, type WalLine } from './format/wal-line.js';
export { decodeOperation, encodeOperation, type Operation } from './format/operation.js';
export { decodeSnapshot, encodeSnapshot, type SnapshotFile } from './format/snapshot-file.js';
export { toPlainState, type DbState, type PlainState } from './format/state.js';
