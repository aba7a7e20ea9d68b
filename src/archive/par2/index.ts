/**
 * PAR 2.0 for BRI archives: create a recovery set for a byte range, read
 * sets (ours and par2cmdline's), verify a range against one, and repair it.
 * Interoperable with par2cmdline in both directions.
 */

export { createPar2, DEFAULT_CREATOR, DEFAULT_REDUNDANCY } from './create.js';
export type { CreatePar2Options, CreatePar2Result, Par2Input } from './create.js';
export { readPar2Set } from './read.js';
export type { Par2FileEntry, Par2RecoverySlice, Par2Set, Par2Source } from './read.js';
export { sliceIsRecorded, verifyPar2 } from './verify.js';
export { SliceHasher } from './slice-hasher.js';
export type { KnownSlices } from './slice-hasher.js';
export { auditPar2File } from './audit.js';
export type { Par2Audit } from './audit.js';
export type { Par2Target, Par2VerifyResult, VerifyPar2Options } from './verify.js';
export { repairPar2 } from './repair.js';
export type { RepairPar2Options, RepairPar2Result } from './repair.js';
export { DEFAULT_MEMORY_LIMIT_BYTES } from './math/linear-combine.js';
export type { KernelChoice } from './math/compute-pool.js';
export { chooseSliceLayout, TARGET_SOURCE_BLOCKS, MIN_AUTO_BLOCK_BYTES } from './layout.js';
export type { SliceLayout } from './layout.js';
