// Stack entry points: end-of-entry work after a receive batch and a poll, requestWork/onWork
// outside entry points, pollAt, and the one-transmit-per-entry output batch.

import { describe, expect, it } from 'vitest';
import { Stack } from '../../stack/stack.js';
import { simEnv } from '../../stack/env.js';
import { VirtualClock } from '../../stack/time/clock.js';
import { Timer } from '../../stack/time/timers.js';
import type { Deferred } from '../../stack/context.js';
import { IpAddr, IpCidr } from '../../stack/wire/ip-addr.js';
import { CaptureLink, host, icmp4, ipv4, pattern } from './helpers.js';

class Counter implements Deferred {
  pending = false;
  runs: number[] = [];
  hasDeferred(): boolean { return this.pending; }
  runDeferred(now: number): void { this.pending = false; this.runs.push(now); }
}

describe('Stack', () => {
  it('runs Deferreds and flushes output once at the end of a receive batch', () => {
    const h = host({ addrs: ['10.0.0.1/24'] });
    const d = new Counter();
    h.stack.addDeferred(d);
    d.pending = true;
    const reqs = [1, 2, 3].map((i) => ipv4({ src: '10.0.0.2', dst: '10.0.0.1', proto: 1, payload: icmp4(8, 0, [0, 1, 0, i], pattern(8)) }));
    h.inject(...reqs);
    expect(d.runs).toEqual([0]);
    expect(h.link.transmits).toBe(1);
    expect(h.link.take().length).toBe(3);
  });

  it('signals work requested outside an entry point once, and pollAt says now until polled', () => {
    const clock = new VirtualClock(5000);
    const s = new Stack({ env: simEnv(1, clock) });
    s.addInterface(new CaptureLink(), { addrs: [IpCidr.of('10.0.0.1/24')] });
    let calls = 0;
    s.onWork(() => { calls++; });
    expect(s.pollAt()).toBeNull();
    s.requestWork();
    s.requestWork();
    expect(calls).toBe(1);
    expect(s.pollAt()).toBe(5000);
    s.poll(5000);
    expect(s.pollAt()).toBeNull();
    // An API-style send (outside any entry point) asks for a poll to flush it.
    expect(s.ip.sendEcho(IpAddr.of('10.0.0.2'), 1, 1, pattern(4), 5000)).toBe(0);
    expect(calls).toBe(2);
    expect(s.pollAt()).toBe(5000);
  });

  it('pollAt is the earliest timer deadline when idle; poll fires due timers', () => {
    const clock = new VirtualClock();
    const s = new Stack({ env: simEnv(1, clock) });
    const fired: number[] = [];
    const t = new Timer({ onTimer: (_t, now) => { fired.push(now); } });
    s.timers.schedule(t, 7000);
    expect(s.pollAt()).toBe(7000);
    s.poll(6999);
    expect(fired).toEqual([]);
    s.poll(7000);
    expect(fired).toEqual([7000]);
    expect(s.pollAt()).toBeNull();
  });
});
