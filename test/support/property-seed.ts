/**
 * Property tests draw a new seed on every run, so that local runs keep exploring. CI sets
 * FC_SEED so that a run is reproducible and a pass on one machine is a pass on the next;
 * `FC_SEED=<seed> npm test` replays a failure fast-check reported with its seed.
 */
import fc from 'fast-check';

const seed = process.env.FC_SEED;
if (seed !== undefined && seed !== '') {
  if (!/^-?\d+$/.test(seed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(seed)}`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: Number(seed) });
}
