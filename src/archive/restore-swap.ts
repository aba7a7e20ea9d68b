/** The restore swap lives with the store (which finishes an interrupted one on open); re-exported for callers here. */
export * from '../store/dir-swap.js';
