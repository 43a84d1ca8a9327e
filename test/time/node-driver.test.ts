// The real-time driver is the one piece that must use real timers; kept short and bounded.
import { describe, expect, it } from 'vitest';
import { driveRealTime, type Drivable } from '../../stack/time/node-driver.js';
import { RealClock } from '../../stack/time/clock.js';

class FakeStack implements Drivable {
  polls: number[] = [];
  deadline: number | null = null;
  private cb: (() => void) | null = null;
  pollAt(): number | null { return this.deadline; }
  poll(now: number): void {
    this.polls.push(now);
    if (this.deadline !== null && now >= this.deadline) this.deadline = null;
  }
  onWork(cb: (() => void) | null): void { this.cb = cb; }
  signal(): void { this.cb?.(); }
}

describe('driveRealTime', () => {
  it('polls at the requested deadline and when work is signalled, and stops cleanly', async () => {
    const clock = new RealClock();
    const s = new FakeStack();
    s.deadline = clock.now() + 20_000; // 20 ms
    const d = driveRealTime(s, clock);
    await new Promise((r) => setTimeout(r, 60));
    const afterTimer = s.polls.length;
    expect(afterTimer).toBeGreaterThanOrEqual(2); // the initial poll and the deadline poll
    expect(s.polls.some((t) => t >= s.polls[0]! + 19_000)).toBe(true);
    expect(s.deadline).toBeNull();
    s.signal();
    await new Promise((r) => setImmediate(r));
    expect(s.polls.length).toBe(afterTimer + 1);
    d.stop();
    s.signal();
    await new Promise((r) => setTimeout(r, 5));
    expect(s.polls.length).toBe(afterTimer + 1);
  });
});
