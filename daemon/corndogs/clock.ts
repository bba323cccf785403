/**
 * Unix time in nanoseconds as bigint. Strictly increasing within the process, so tasks updated
 * in the same microsecond still keep their FIFO order.
 */
const originNs = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n;
let last = 0n;

export function nowNs(): bigint {
  let now = originNs + BigInt(Math.round(performance.now() * 1e6));
  if (now <= last) now = last + 1n;
  last = now;
  return now;
}
