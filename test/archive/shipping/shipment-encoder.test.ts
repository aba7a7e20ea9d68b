/** The shipment encoder shared by the remotes: one compressed file per range while remotes ship it together, removed after the last. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decompress } from 'zstd-napi';
import { sharedShipmentEncoder } from '../../../src/archive/shipping/shared-encoder.js';
import type { ShipmentHeader } from '../../../src/archive/shipping/shipment.js';
import { useTempDirs } from '../../support/temp-dirs.js';

const tempDir = useTempDirs('bri-ship-enc-');

const header = (firstLine: number, n: number): ShipmentHeader => ({
  v: 1,
  instanceId: 'i-1',
  firstLine,
  lastLine: firstLine + n - 1,
  prevPointer: 'aaaaaaaa',
  firstPointer: 'bbbbbbbb',
  lastPointer: 'cccccccc',
  firstTimestamp: 1,
  lastTimestamp: 2,
  linesSha256: 'd'.repeat(64),
});
const lines = (n: number) => Array.from({ length: n }, (_, i) => `17000000000${i}|0000000${i % 10}|{"SET":"K${i}"}`);

describe('shared shipment encoder', () => {
  it('remotes shipping the same range share one file, gone after the last release; its bytes are the shipment', async () => {
    const dir = path.join(await tempDir(), 'shipping');
    const encode = sharedShipmentEncoder(dir);
    const h = header(11, 50);
    const [a, b] = await Promise.all([encode(h, lines(50)), encode(h, lines(50))]);
    expect(b.file).toBe(a.file);
    const bytes = fs.readFileSync(a.file);
    expect(bytes.length).toBe(a.size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(a.sha256);
    // The body: the header as one JSON line, then the lines byte for byte.
    expect(decompress(bytes).toString('utf8')).toBe(JSON.stringify(h) + '\n' + lines(50).map((l) => `${l}\n`).join(''));
    // Another range at the same time: its own file.
    const c = await encode(header(61, 5), lines(5));
    expect(c.file).not.toBe(a.file);
    await a.release();
    expect(fs.existsSync(a.file), 'kept while a remote still uploads it').toBe(true);
    await b.release();
    expect(fs.existsSync(a.file)).toBe(false);
    await c.release();
    expect(fs.readdirSync(dir)).toEqual([]);
    // A remote that comes later (it was lagging) gets the same body, compressed again.
    const late = await encode(h, lines(50));
    expect(late.file).not.toBe(a.file);
    expect(late.sha256).toBe(a.sha256);
    await late.release();
  });
});
