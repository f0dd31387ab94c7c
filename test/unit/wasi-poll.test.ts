/**
 * `wasi:io/poll` and `wasi:clocks/monotonic-clock` timers on the host. libuv schedules a `setTimeout` from the loop
 * time cached at the start of the iteration, so after a busy stretch a Node timer fires before its real deadline.
 * A pollable that reported itself done then made `poll` return no index at all, and StarlingMonkey ran the wrong
 * timer (the sandbox's 5 s deadline fired 10 ms in, about one run in thirty).
 */
import { describe, expect, it } from 'vitest';
import { poll, type Pollable } from '../../host/wasi/io.ts';
import { monotonicClock } from '../../host/wasi/system.ts';

/** Blocks the event loop, leaving libuv's cached loop time behind the real clock. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

const MS = 1_000_000n;

describe('monotonic-clock pollables', () => {
  it('a timer armed after a busy stretch is not ready before its deadline', async () => {
    for (let i = 0; i < 5; i++) {
      busy(30);
      const deadline = process.hrtime.bigint() + 15n * MS;
      const timer = monotonicClock.subscribeInstant(deadline);
      await timer.block();
      expect(process.hrtime.bigint()).toBeGreaterThanOrEqual(deadline);
      expect(timer.ready()).toBe(true);
      timer[Symbol.dispose]();
    }
  });

  it('poll returns at least one ready index, and only ready ones', async () => {
    for (let i = 0; i < 5; i++) {
      busy(30);
      const long = monotonicClock.subscribeDuration(5_000n * MS);
      const short = monotonicClock.subscribeDuration(15n * MS);
      const ready = await poll([long, short]);
      expect([...ready]).toEqual([1]);
      for (const p of [long, short]) p[Symbol.dispose]();
    }
  });

  it('poll answers at once when something is ready, and refuses an empty list', () => {
    const due: Pollable = monotonicClock.subscribeDuration(0n);
    expect([...(poll([monotonicClock.subscribeDuration(5_000n * MS), due]) as Uint32Array)]).toEqual([1]);
    expect(() => poll([])).toThrow(/empty list/);
  });
});
