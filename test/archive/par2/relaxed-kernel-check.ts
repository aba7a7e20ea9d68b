/**
 * Run as a child process by kernels.test.ts: turns on relaxed SIMD (a V8 flag
 * on Node 20, the default on newer Node), then checks the relaxed-swizzle
 * kernel against the reference on random data. Prints one JSON line.
 * A separate process, because V8 flags are process-wide.
 */

import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--experimental-wasm-relaxed-simd');

const { instantiateKernel, kernelModuleBytes, writeNibbleTables, INPUT_EXPANSION } = await import('../../../src/archive/par2/math/kernel-wasm.js');
const { mulAddReference } = await import('../../../src/archive/par2/math/kernel-ref.js');
const { wasmApi } = await import('../../../src/archive/par2/math/wasm-api.js');

const bytes = kernelModuleBytes(false, true);
if (!wasmApi.validate(bytes)) {
  process.stdout.write(`${JSON.stringify({ available: false })}\n`);
} else {
  const memory = new wasmApi.Memory({ initial: 1, maximum: 1 });
  const kernel = instantiateKernel(new wasmApi.Module(bytes), memory);
  const u8 = new Uint8Array(memory.buffer);
  let failures = 0;
  const cases = 500;
  for (let n = 0; n < cases; n++) {
    const len = 32 * (1 + Math.floor(Math.random() * 64));
    const input = Uint8Array.from({ length: len }, () => Math.floor(Math.random() * 256));
    const c = Math.floor(Math.random() * 65536);
    const [TBL, IN, PREP, OUT] = [0, 128, 128 + 2048, 128 + 2048 + 4096];
    writeNibbleTables(u8, TBL, c);
    u8.set(input, IN);
    u8.fill(0, OUT, OUT + len);
    kernel.splitInput(PREP, IN, len);
    kernel.mulAdd(OUT, PREP, TBL, len);
    kernel.joinOutput(OUT, len);
    const want = new Uint8Array(len);
    mulAddReference(want, input, c);
    if (!Buffer.from(u8.subarray(OUT, OUT + len)).equals(want)) failures++;
  }
  process.stdout.write(`${JSON.stringify({ available: true, cases, failures, expansion: INPUT_EXPANSION })}\n`);
}
