/**
 * wallClockMicros reads the wall clock in microseconds since the Unix epoch.
 *
 * exchange_time is wall-clock time, so a producer stamps with it and a
 * subscriber in another process subtracts it from its own reading. Date.now
 * counts whole milliseconds; the time origin plus the monotonic clock keeps
 * the microseconds, and both processes read the same system clock.
 */
export function wallClockMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
