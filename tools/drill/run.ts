// The drill interpreter: runs one parsed script against a fresh Stack on a capture link under a
// virtual clock (reference §3–§10). Inbound packets are built with the script's relative numbers
// translated to live ones; outbound packets are awaited (virtual time advances as the stack's
// timers fire) and compared field by field; syscalls go through the XNU KPI; blocking calls
// (`T1...T2`) stay pending while later events run; shell commands and code events are emulated.
//
// This file is the engine: the event loop and virtual time. The layers it extends: run-base.ts
// (state) → run-packets.ts → run-syscalls.ts → run-emulations.ts.

import type { Instant } from '../../stack/time/instant.js';
import { sock_close } from '../../kpi/index.js';
import type { DrillEvent, Script } from './ast.js';
import { DrillStop, settle, fmtTime, MAX_WAIT_US } from './run-base.js';
import { DrillEmulations } from './run-emulations.js';

export { DrillStop, DEFAULT_CONFIG, applyOption } from './run-base.js';
export type { DrillConfig, DrillStatus, DrillResult, RunOptions } from './run-base.js';
export { evalAssert } from './run-emulations.js';

export class DrillRunner extends DrillEmulations {
  // ---- time ----

  protected async checkPending(): Promise<void> {
    const p = this.pending;
    if (p === null) return;
    if (p.recheck !== null) {
      if (!p.done) {
        const r = p.recheck();
        if (r !== null) { p.done = true; p.result = r; p.doneAt = this.now; }
      }
    } else {
      await settle();
    }
    if (p.failure !== undefined && p.failure !== null) throw p.failure;
    if (p.done) {
      this.pending = null;
      this.finishBlocking(p);
      return;
    }
    if (this.now > p.endHi + this.tol(p.endHi, p.startUs)) {
      this.pending = null;
      throw new DrillStop('fail', `blocking ${p.call.name}() did not return by ${fmtTime(p.endHi)} (still blocked at ${fmtTime(this.now)})`,
        p.ev.loc.line, `return at ${fmtTime(p.endLo)}`, 'still blocked', null, 'syscall');
    }
  }

  /** One step: fires the next stack deadline if it is <= limit. False when there is none. */
  protected async step(limit: number): Promise<boolean> {
    const next = this.stack.pollAt();
    if (next === null || next > limit) return false;
    this.clock.advanceTo(next as Instant);
    this.stack.poll(this.clock.now());
    await this.checkPending();
    return true;
  }

  protected async advanceTo(t: number): Promise<void> {
    for (let i = 0; i < 5_000_000; i++) {
      await this.checkPending();
      if (!(await this.step(t))) {
        this.clock.advanceTo(t as Instant);
        this.stack.poll(this.clock.now());
        await this.checkPending();
        return;
      }
    }
    throw new DrillStop('error', 'the stack keeps asking for work at the same instant (livelock)', null);
  }

  // ---- main loop ----

  async run(script: Script): Promise<void> {
    for (const ev of script.events) {
      try {
        await this.runEvent(ev);
      } catch (e) {
        if (e instanceof DrillStop && e.status === 'fail' && e.kind !== 'other' && this.cfg.nonFatal.has(e.kind)) {
          this.warnings.push(`line ${e.line ?? '?'}: ${e.message} (non-fatal)`);
          continue;
        }
        throw e;
      }
    }
    // A blocking call still outstanding: wait for it until its end time (+ tolerance).
    const p = this.pending;
    if (p !== null) {
      const limit = p.endHi + this.tol(p.endHi, p.startUs);
      while (this.pending !== null && this.now <= limit) {
        if (!(await this.step(limit))) { this.clock.advanceTo(limit as Instant); this.stack.poll(this.now); await this.checkPending(); break; }
      }
      await this.checkPending();
      if (this.pending !== null) {
        this.pending = null;
        throw new DrillStop('fail', `blocking ${p.call.name}() never returned`, p.ev.loc.line, `return at ${fmtTime(p.endLo)}`, 'still blocked', null, 'syscall');
      }
    }
    for (const o of this.outq) this.warnings.push(`unconsumed outbound packet at ${fmtTime(o.at)}: ${this.describeLive(o.pkt)}`);
  }

  /** Closes what the script left open (nothing after the last event is checked). */
  async teardown(): Promise<void> {
    for (const f of this.fds.values()) {
      try { void sock_close(f.ks); } catch { /* ignore */ }
    }
    this.fds.clear();
    this.stack.poll(this.now);
    this.stack.drain();
  }

  protected expectedWindow(ev: DrillEvent): { lo: number; hi: number; any: boolean } {
    const t = ev.time;
    switch (t.kind) {
      case 'abs': return { lo: t.us, hi: t.us, any: false };
      case 'rel': return { lo: this.lastActual + t.us, hi: this.lastActual + t.us, any: false };
      case 'any': return { lo: this.now, hi: this.now + MAX_WAIT_US, any: true };
      case 'range': {
        const base = t.rel ? this.lastActual : 0;
        return { lo: base + t.lo, hi: base + t.hi, any: false };
      }
    }
  }

  protected async runEvent(ev: DrillEvent): Promise<void> {
    const w = this.expectedWindow(ev);
    const a = ev.action;
    if (a.kind === 'packet' && a.dir === 'out') {
      const at = await this.expectOutbound(ev, a, w);
      this.lastActual = at;
      this.lastExpected = w.any ? at : w.lo;
      return;
    }
    // Everything else happens at its time.
    if (w.lo > this.now) await this.advanceTo(w.lo);
    else await this.checkPending();
    this.lastActual = this.now;
    this.lastExpected = w.lo;
    this.log(ev.text);
    switch (a.kind) {
      case 'packet': this.inject(ev, a); break;
      case 'syscall': await this.syscall(ev, a, w.lo); break;
      case 'command': this.command(ev, a.command); break;
      case 'code': this.code(ev, a.code); break;
    }
    this.stack.poll(this.now);
    await this.checkPending();
  }
}
