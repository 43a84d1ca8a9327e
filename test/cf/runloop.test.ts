// CFRunLoop: modes, version-0 sources (signal, order, returnAfterSourceHandled), common modes,
// RunInMode results, stop/wake-up, timers (one-shot, repeating, invalidated), nesting; run on the
// simulation's virtual clock so every time is exact.

import { describe, expect, it } from 'vitest';
import {
  CFGetRetainCount, CFRelease, CFRunLoopAddCommonMode, CFRunLoopAddSource, CFRunLoopAddTimer, CFRunLoopContainsSource,
  CFRunLoopContainsTimer, CFRunLoopCopyAllModes, CFRunLoopCopyCurrentMode, CFRunLoopGetCurrent, CFRunLoopGetMain,
  CFRunLoopPerformBlock, CFRunLoopRemoveSource, CFRunLoopRun, CFRunLoopRunInMode, CFRunLoopSourceCreate,
  CFRunLoopSourceGetOrder, CFRunLoopSourceInvalidate, CFRunLoopSourceIsValid, CFRunLoopSourceSignal,
  CFRunLoopSourceSignalPort, CFRunLoopStop, CFRunLoopTimerCreate, CFRunLoopTimerDoesRepeat,
  CFRunLoopTimerGetNextFireDate, CFRunLoopTimerInvalidate, CFRunLoopTimerIsValid, CFRunLoopTimerSetNextFireDate,
  CFRunLoopWakeUp, CFRunLoopGetTime, kCFRunLoopCommonModes, kCFRunLoopDefaultMode, kCFRunLoopRunFinished,
  kCFRunLoopRunHandledSource, kCFRunLoopRunStopped, kCFRunLoopRunTimedOut,
} from '../../cfsocket/index.js';
import type { CFRunLoop, CFRunLoopSource } from '../../cfsocket/index.js';
import { cfWorld, nowMs, run } from './cf-harness.js';

function src(order: number, log: string[], name: string, extra: Partial<{ perform: () => void | Promise<void> }> = {}): CFRunLoopSource {
  return CFRunLoopSourceCreate(null, order, {
    version: 0, info: name,
    perform: extra.perform ?? (() => { log.push(name); }),
  });
}

describe('CFRunLoopRunInMode results', () => {
  it('empty, unknown and common-modes runs finish at once', async () => {
    const cw = cfWorld();
    expect(await CFRunLoopRunInMode(kCFRunLoopDefaultMode, 10, false, cw.rl)).toBe(kCFRunLoopRunFinished);
    expect(await CFRunLoopRunInMode('nope', 10, false, cw.rl)).toBe(kCFRunLoopRunFinished);
    expect(await CFRunLoopRunInMode(kCFRunLoopCommonModes, 10, false, cw.rl)).toBe(kCFRunLoopRunFinished);
    expect(await CFRunLoopRunInMode(null, 10, false, cw.rl)).toBe(kCFRunLoopRunFinished);
    expect(CFRunLoopCopyAllModes(cw.rl)).toEqual([kCFRunLoopDefaultMode]);
  });

  it('sources fire in increasing order; returnAfterSourceHandled handles one per run', async () => {
    const cw = cfWorld();
    const log: string[] = [];
    const s5 = src(5, log, 'five'), s1 = src(1, log, 'one'), s3 = src(3, log, 'three');
    for (const s of [s5, s1, s3]) CFRunLoopAddSource(cw.rl, s, kCFRunLoopDefaultMode);
    for (const s of [s5, s3, s1]) CFRunLoopSourceSignal(s);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 0, true, cw.rl))).toBe(kCFRunLoopRunHandledSource);
    expect(log).toEqual(['one']);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 0, false, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(log).toEqual(['one', 'three', 'five']);
    expect(CFRunLoopSourceGetOrder(s3)).toBe(3);
    // Nothing signalled: a poll times out, returnAfterSourceHandled or not.
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 0, true, cw.rl))).toBe(kCFRunLoopRunTimedOut);
  });

  it('a run with seconds waits (no busy loop) and times out at the deadline', async () => {
    const cw = cfWorld();
    const log: string[] = [];
    CFRunLoopAddSource(cw.rl, src(0, log, 's'), kCFRunLoopDefaultMode);
    const t0 = nowMs(cw);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 2.5, false, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(nowMs(cw) - t0).toBe(2500);
    expect(log).toEqual([]);
  });

  it('Signal does not wake a waiting run; WakeUp does', async () => {
    const cw = cfWorld();
    const log: string[] = [];
    const s = src(0, log, 's');
    CFRunLoopAddSource(cw.rl, s, kCFRunLoopDefaultMode);
    const clock = cw.rl._clock;
    clock.schedule(clock.now() + 0.1, () => CFRunLoopSourceSignal(s));
    const t0 = nowMs(cw);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 1, true, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(nowMs(cw) - t0).toBe(1000);
    expect(log).toEqual([]); // still signalled, the deadline ended the run before another pass
    clock.schedule(clock.now() + 0.2, () => { CFRunLoopSourceSignal(s); CFRunLoopWakeUp(cw.rl); });
    const t1 = nowMs(cw);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 5, true, cw.rl))).toBe(kCFRunLoopRunHandledSource);
    expect(log).toEqual(['s']);
    expect(nowMs(cw) - t1).toBe(0); // the signal from the first run was handled on the first pass
  });

  it('CFRunLoopStop ends the innermost run with Stopped; outside a run it is lost', async () => {
    const cw = cfWorld();
    const log: string[] = [];
    CFRunLoopAddSource(cw.rl, src(0, log, 's'), kCFRunLoopDefaultMode);
    CFRunLoopStop(cw.rl); // not running: no effect
    const clock = cw.rl._clock;
    clock.schedule(clock.now() + 0.3, () => CFRunLoopStop(cw.rl));
    const t0 = nowMs(cw);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 10, false, cw.rl))).toBe(kCFRunLoopRunStopped);
    expect(nowMs(cw) - t0).toBe(300);
  });

  it('a run whose mode becomes empty (source invalidated) finishes', async () => {
    const cw = cfWorld();
    const log: string[] = [];
    let s!: CFRunLoopSource;
    s = src(0, log, 's', { perform: () => { log.push('s'); CFRunLoopSourceInvalidate(s); } });
    CFRunLoopAddSource(cw.rl, s, kCFRunLoopDefaultMode);
    CFRunLoopSourceSignal(s);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 10, false, cw.rl))).toBe(kCFRunLoopRunFinished);
    expect(log).toEqual(['s']);
    expect(CFRunLoopSourceIsValid(s)).toBe(false);
    expect(CFRunLoopContainsSource(cw.rl, s, kCFRunLoopDefaultMode)).toBe(false);
    CFRunLoopAddSource(cw.rl, s, kCFRunLoopDefaultMode); // ignored: invalid
    expect(CFRunLoopContainsSource(cw.rl, s, kCFRunLoopDefaultMode)).toBe(false);
  });

  it('CFRunLoopRun returns when the default mode is empty or stopped', async () => {
    const cw = cfWorld();
    await CFRunLoopRun(cw.rl); // empty: returns at once
    const log: string[] = [];
    const s = src(0, log, 's', { perform: () => { log.push('s'); CFRunLoopStop(cw.rl); } });
    CFRunLoopAddSource(cw.rl, s, kCFRunLoopDefaultMode);
    CFRunLoopSourceSignal(s);
    await run(cw, CFRunLoopRun(cw.rl));
    expect(log).toEqual(['s']);
  });
});

describe('modes', () => {
  it('a source fires only in the modes it was added to; common modes reach every common mode', async () => {
    const cw = cfWorld();
    const log: string[] = [];
    const common = src(0, log, 'common'), custom = src(1, log, 'custom');
    CFRunLoopAddSource(cw.rl, common, kCFRunLoopCommonModes);
    CFRunLoopAddSource(cw.rl, custom, 'custom');
    expect(CFRunLoopContainsSource(cw.rl, common, kCFRunLoopDefaultMode)).toBe(true);
    expect(CFRunLoopContainsSource(cw.rl, common, kCFRunLoopCommonModes)).toBe(true);
    expect(CFRunLoopContainsSource(cw.rl, common, 'custom')).toBe(false);
    CFRunLoopSourceSignal(common);
    CFRunLoopSourceSignal(custom);
    expect(await run(cw, CFRunLoopRunInMode('custom', 0, false, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(log).toEqual(['custom']); // 'custom' is not a common mode yet: common stays signalled
    CFRunLoopAddCommonMode(cw.rl, 'custom');
    expect(CFRunLoopContainsSource(cw.rl, common, 'custom')).toBe(true);
    expect(await run(cw, CFRunLoopRunInMode('custom', 0, false, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(log).toEqual(['custom', 'common']);
    CFRunLoopSourceSignal(common);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 0, false, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(log).toEqual(['custom', 'common', 'common']);
    CFRunLoopRemoveSource(cw.rl, common, kCFRunLoopCommonModes);
    expect(CFRunLoopContainsSource(cw.rl, common, kCFRunLoopDefaultMode)).toBe(false);
    expect(CFRunLoopContainsSource(cw.rl, common, 'custom')).toBe(false);
  });

  it('schedule and cancel are called once per concrete mode; the mode set retains the source', () => {
    const cw = cfWorld();
    const calls: string[] = [];
    const s = CFRunLoopSourceCreate(null, 0, {
      version: 0, info: 'x', perform: null,
      schedule: (_i, _rl, m) => calls.push(`schedule ${m}`),
      cancel: (_i, _rl, m) => calls.push(`cancel ${m}`),
    });
    CFRunLoopAddCommonMode(cw.rl, 'ui');
    CFRunLoopAddSource(cw.rl, s, kCFRunLoopCommonModes);
    CFRunLoopAddSource(cw.rl, s, kCFRunLoopDefaultMode); // already there: no-op
    expect(calls).toEqual([`schedule ${kCFRunLoopDefaultMode}`, 'schedule ui']);
    expect(CFGetRetainCount(s)).toBe(3);
    CFRunLoopSourceInvalidate(s);
    expect(calls.slice(2).sort()).toEqual([`cancel ${kCFRunLoopDefaultMode}`, 'cancel ui']);
    expect(CFGetRetainCount(s)).toBe(1);
    CFRelease(s);
  });

  it('CopyCurrentMode names the innermost run; nested runs from a callout', async () => {
    const cw = cfWorld();
    const log: string[] = [];
    const inner = src(0, log, 'inner');
    CFRunLoopAddSource(cw.rl, inner, 'private');
    const outer = src(0, log, 'outer', {
      perform: async () => {
        log.push(`outer in ${CFRunLoopCopyCurrentMode(cw.rl)}`);
        expect(CFRunLoopGetCurrent()).toBe(cw.rl);
        CFRunLoopSourceSignal(inner);
        const r = await CFRunLoopRunInMode('private', 1, true, cw.rl);
        log.push(`nested ${r} back in ${CFRunLoopCopyCurrentMode(cw.rl)}`);
      },
    });
    CFRunLoopAddSource(cw.rl, outer, kCFRunLoopDefaultMode);
    CFRunLoopSourceSignal(outer);
    expect(CFRunLoopCopyCurrentMode(cw.rl)).toBe(null);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 0, true, cw.rl))).toBe(kCFRunLoopRunHandledSource);
    expect(log).toEqual([`outer in ${kCFRunLoopDefaultMode}`, 'inner', `nested ${kCFRunLoopRunHandledSource} back in ${kCFRunLoopDefaultMode}`]);
    expect(CFRunLoopGetCurrent()).toBe(CFRunLoopGetMain());
  });

  it('a concurrent (not nested) second run of the same loop is refused with Finished', async () => {
    const cw = cfWorld();
    CFRunLoopAddSource(cw.rl, src(0, [], 's'), kCFRunLoopDefaultMode);
    const first = CFRunLoopRunInMode(kCFRunLoopDefaultMode, 1, false, cw.rl);
    expect(await CFRunLoopRunInMode(kCFRunLoopDefaultMode, 1, false, cw.rl)).toBe(kCFRunLoopRunFinished);
    expect(await run(cw, first)).toBe(kCFRunLoopRunTimedOut);
  });

  it('CFRunLoopGetCurrent follows the async context: concurrent runs of two loops awaiting in callouts', async () => {
    const a = cfWorld(), b = cfWorld();
    expect(a.rl).not.toBe(b.rl);
    const seen: string[] = [];
    const tick = (): Promise<void> => new Promise<void>((r) => setTimeout(r, 0));
    const name = (rl: CFRunLoop): string => (rl === a.rl ? 'A' : rl === b.rl ? 'B' : rl === CFRunLoopGetMain() ? 'main' : '?');
    const callout = (tag: string) => async (): Promise<void> => {
      seen.push(`${tag} ${name(CFRunLoopGetCurrent())}`);
      for (let i = 0; i < 3; i++) {
        await tick(); // the other loop's callout and the top-level code run meanwhile
        seen.push(`${tag}${i} ${name(CFRunLoopGetCurrent())}`);
      }
    };
    const sa = src(0, [], 'a', { perform: callout('A') });
    const sb = src(0, [], 'b', { perform: callout('B') });
    CFRunLoopAddSource(a.rl, sa, kCFRunLoopDefaultMode);
    CFRunLoopAddSource(b.rl, sb, kCFRunLoopDefaultMode);
    CFRunLoopSourceSignal(sa);
    CFRunLoopSourceSignal(sb);
    const ra = CFRunLoopRunInMode(kCFRunLoopDefaultMode, 0, true, a.rl);
    const rb = CFRunLoopRunInMode(kCFRunLoopDefaultMode, 0, true, b.rl);
    // Both callouts are suspended in an await now: top-level code is on the main loop.
    expect(CFRunLoopGetCurrent()).toBe(CFRunLoopGetMain());
    await tick();
    expect(CFRunLoopGetCurrent()).toBe(CFRunLoopGetMain());
    expect(await ra).toBe(kCFRunLoopRunHandledSource);
    expect(await rb).toBe(kCFRunLoopRunHandledSource);
    expect(CFRunLoopGetCurrent()).toBe(CFRunLoopGetMain());
    expect(seen.filter((s) => s.startsWith('A'))).toEqual(['A A', 'A0 A', 'A1 A', 'A2 A']);
    expect(seen.filter((s) => s.startsWith('B'))).toEqual(['B B', 'B0 B', 'B1 B', 'B2 B']);
    // They really interleaved.
    expect(seen.indexOf('B B')).toBeLessThan(seen.indexOf('A2 A'));
  });

  it('blocks run in matching modes only and do not count as handled sources', async () => {
    const cw = cfWorld();
    const log: string[] = [];
    CFRunLoopPerformBlock(cw.rl, 'other', () => { log.push('other'); });
    CFRunLoopPerformBlock(cw.rl, kCFRunLoopDefaultMode, () => { log.push('default'); });
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 0, true, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(log).toEqual(['default']);
    // A mode that was never created does not run, even with blocks queued for it.
    expect(await run(cw, CFRunLoopRunInMode('other', 0, false, cw.rl))).toBe(kCFRunLoopRunFinished);
    expect(log).toEqual(['default']);
    CFRunLoopAddSource(cw.rl, src(0, [], 'x'), 'other');
    expect(await run(cw, CFRunLoopRunInMode('other', 0, false, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(log).toEqual(['default', 'other']);
  });

  it('version-1 sources: one message per iteration, counted as a handled source', async () => {
    const cw = cfWorld();
    const log: string[] = [];
    const v1 = CFRunLoopSourceCreate(null, 0, { version: 1, info: null, perform: () => { log.push('msg'); } });
    CFRunLoopAddSource(cw.rl, v1, kCFRunLoopDefaultMode);
    CFRunLoopSourceSignalPort(v1);
    CFRunLoopSourceSignalPort(v1);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 5, true, cw.rl))).toBe(kCFRunLoopRunHandledSource);
    expect(log).toEqual(['msg']);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 5, true, cw.rl))).toBe(kCFRunLoopRunHandledSource);
    expect(log).toEqual(['msg', 'msg']);
    const clock = cw.rl._clock;
    clock.schedule(clock.now() + 0.25, () => CFRunLoopSourceSignalPort(v1)); // wakes the waiting run
    const t0 = nowMs(cw);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 5, true, cw.rl))).toBe(kCFRunLoopRunHandledSource);
    expect(nowMs(cw) - t0).toBe(250);
  });
});

describe('timers', () => {
  it('a repeating timer fires every interval; invalidating it stops it (and empties the mode)', async () => {
    const cw = cfWorld();
    const fired: number[] = [];
    const t0 = CFRunLoopGetTime(cw.rl);
    const t = CFRunLoopTimerCreate(null, t0 + 0.1, 0.25, 0, 0, (tm) => {
      fired.push(Math.round((CFRunLoopGetTime(cw.rl) - t0) * 1000));
      if (fired.length === 4) CFRunLoopTimerInvalidate(tm);
    });
    expect(CFRunLoopTimerDoesRepeat(t)).toBe(true);
    CFRunLoopAddTimer(cw.rl, t, kCFRunLoopDefaultMode);
    expect(CFRunLoopContainsTimer(cw.rl, t, kCFRunLoopDefaultMode)).toBe(true);
    // Timers never make a run return HandledSource; the run ends when the mode is empty.
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 100, true, cw.rl))).toBe(kCFRunLoopRunFinished);
    expect(fired).toEqual([100, 350, 600, 850]);
    expect(CFRunLoopTimerIsValid(t)).toBe(false);
  });

  it('a one-shot timer is invalidated after firing and releases its info', async () => {
    const cw = cfWorld();
    const events: string[] = [];
    const t = CFRunLoopTimerCreate(null, CFRunLoopGetTime(cw.rl) + 1, 0, 0, 0, (_t, info) => { events.push(`fire ${String(info)}`); },
      { version: 0, info: 'ctx', retain: (i) => { events.push('retain'); return i; }, release: () => { events.push('release'); } });
    expect(CFRunLoopTimerDoesRepeat(t)).toBe(false);
    CFRunLoopAddTimer(cw.rl, t, kCFRunLoopCommonModes);
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 5, false, cw.rl))).toBe(kCFRunLoopRunFinished);
    expect(events).toEqual(['retain', 'fire ctx', 'release']);
    expect(CFRunLoopTimerIsValid(t)).toBe(false);
  });

  it('missed ticks are skipped; SetNextFireDate moves a timer; timers fire only in their modes', async () => {
    const cw = cfWorld();
    const fired: number[] = [];
    const t0 = CFRunLoopGetTime(cw.rl);
    const t = CFRunLoopTimerCreate(null, t0 + 0.1, 0.1, 0, 0, () => { fired.push(Math.round((CFRunLoopGetTime(cw.rl) - t0) * 1000)); });
    CFRunLoopAddTimer(cw.rl, t, 'timers');
    const other = src(0, [], 'x');
    CFRunLoopAddSource(cw.rl, other, kCFRunLoopDefaultMode);
    // Running the default mode for 1 s: the timer is not in it.
    expect(await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 1, false, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(fired).toEqual([]);
    expect(await run(cw, CFRunLoopRunInMode('timers', 0.15, false, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(fired).toEqual([1000, 1100]); // one callout for the 9 missed ticks, then on schedule
    expect(CFRunLoopTimerGetNextFireDate(t) - t0).toBeCloseTo(1.2, 6);
    CFRunLoopTimerSetNextFireDate(t, t0 + 2);
    expect(await run(cw, CFRunLoopRunInMode('timers', 1, false, cw.rl))).toBe(kCFRunLoopRunTimedOut);
    expect(fired).toEqual([1000, 1100, 2000, 2100]);
    CFRunLoopTimerInvalidate(t);
  });
});
