import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Timer, TimerQueue, type TimerTarget } from '../../stack/time/timers.js';
import { VirtualClock, RealClock } from '../../stack/time/clock.js';

class Recorder implements TimerTarget {
  fired: Array<[number, number]> = [];
  onTimer(t: Timer, now: number): void { this.fired.push([t.kind, now]); }
}

describe('TimerQueue', () => {
  it('fires due timers earliest first and reports the next deadline', () => {
    const q = new TimerQueue();
    const r = new Recorder();
    const a = new Timer(r, 1), b = new Timer(r, 2), c = new Timer(r, 3);
    q.schedule(a, 300); q.schedule(b, 100); q.schedule(c, 200);
    expect(q.nextDeadline()).toBe(100);
    expect(q.fireDue(250)).toBe(2);
    expect(r.fired).toEqual([[2, 250], [3, 250]]);
    expect(q.nextDeadline()).toBe(300);
    expect(a.armed).toBe(true);
    expect(b.armed).toBe(false);
  });

  it('cancels and re-arms in place', () => {
    const q = new TimerQueue();
    const r = new Recorder();
    const a = new Timer(r, 1), b = new Timer(r, 2);
    q.schedule(a, 100); q.schedule(b, 200);
    q.cancel(a);
    q.cancel(a); // idempotent
    expect(q.nextDeadline()).toBe(200);
    q.schedule(b, 50);
    expect(q.size).toBe(1);
    expect(q.nextDeadline()).toBe(50);
    q.cancel(b);
    expect(q.nextDeadline()).toBeNull();
  });

  it('fires equal deadlines in arming order (determinism)', () => {
    const q = new TimerQueue();
    const r = new Recorder();
    const ts = [5, 3, 9, 1].map((k) => new Timer(r, k));
    for (const t of ts) q.schedule(t, 10);
    q.fireDue(10);
    expect(r.fired.map((x) => x[0])).toEqual([5, 3, 9, 1]);
  });

  it('bounds a timer that keeps re-arming itself for the past', () => {
    const q = new TimerQueue();
    const t: Timer = new Timer({ onTimer: () => q.schedule(t, 0) });
    q.schedule(t, 0);
    expect(q.fireDue(10, 50)).toBe(50);
  });

  it('agrees with a sorted-list model under random operations', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('arm', 'cancel', 'fire'), fc.nat(7), fc.nat(1000)), { maxLength: 200 }),
        (ops) => {
          const q = new TimerQueue();
          const r = new Recorder();
          const timers = Array.from({ length: 8 }, (_, i) => new Timer(r, i));
          const model = new Map<number, { at: number; seq: number }>();
          let seq = 0;
          for (const [op, i, at] of ops) {
            const t = timers[i]!;
            if (op === 'arm') { q.schedule(t, at); model.set(i, { at, seq: seq++ }); }
            else if (op === 'cancel') { q.cancel(t); model.delete(i); }
            else {
              r.fired = [];
              q.fireDue(at);
              const due = [...model.entries()].filter(([, v]) => v.at <= at)
                .sort((x, y) => x[1].at - y[1].at || x[1].seq - y[1].seq).map(([k]) => k);
              for (const k of due) model.delete(k);
              expect(r.fired.map((x) => x[0])).toEqual(due);
            }
            const min = [...model.values()].reduce<number | null>((m, v) => (m === null || v.at < m ? v.at : m), null);
            expect(q.nextDeadline()).toBe(min);
            expect(q.size).toBe(model.size);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('clocks', () => {
  it('virtual time moves only when told to, and never backwards', () => {
    const c = new VirtualClock();
    expect(c.now()).toBe(0);
    c.advanceMs(1.5);
    expect(c.now()).toBe(1500);
    c.advanceTo(1000);
    expect(c.now()).toBe(1500);
    expect(c.wallMicros() - c.now()).toBe(new VirtualClock().wallMicros());
  });

  it('real time is monotonic', () => {
    const c = new RealClock();
    const a = c.now();
    let b = a;
    for (let i = 0; i < 1000; i++) b = c.now();
    expect(b).toBeGreaterThanOrEqual(a);
    expect(c.wallMicros()).toBeGreaterThan(1_600_000_000_000_000);
  });
});
