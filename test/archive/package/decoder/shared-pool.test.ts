import { describe, expect, it } from 'vitest';
import { SharedPool } from '../../../../src/archive/package/decoder/shared-pool.js';

describe('SharedPool', () => {
  it('gives shared memory of the size asked, and the same memory again once given back', () => {
    const pool = new SharedPool(2);
    const a = pool.take(1000);
    expect(a.length).toBe(1000);
    expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    a.fill(7);
    pool.give(a);
    // A member a little larger fits the room left over; one much larger gets memory of its own.
    const b = pool.take(1100);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(1100);
    const c = pool.take(5000);
    expect(c.buffer).not.toBe(a.buffer);
    expect(c.length).toBe(5000);
  });

  it('keeps at most as many buffers as it was told', () => {
    const pool = new SharedPool(1);
    const a = pool.take(100);
    const b = pool.take(100);
    pool.give(a);
    pool.give(b);
    expect(pool.take(100).buffer).toBe(a.buffer);
    expect(pool.take(100).buffer).not.toBe(b.buffer);
  });
});
