/**
 * A moment between two writes: the clock is read with a pause on either side, so that no line written
 * before or after it carries the same millisecond (a time-travel or restore test then asks for it).
 */
const pause = () => new Promise((r) => setTimeout(r, 15));

export async function momentBetweenWrites(): Promise<number> {
  await pause();
  const t = Date.now();
  await pause();
  return t;
}
