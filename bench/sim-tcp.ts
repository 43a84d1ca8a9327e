// The TUN measurements again between two stacks on the in-process simulated network (tools/
// sim-world.ts): pure protocol CPU cost, no device, no kernel. Stack "b" runs the same services
// as `tunstack up` (tools/services: discard, chargen, echo); stack "a" runs the client side,
// written against the socket layer like any application. Every figure is per CPU second of this
// process (both stacks and the simulated network: everything runs on one thread), measured with
// process.cpuUsage(). Run with and without the sim network's TSO/checksum offload emulation.
//
//   c2s bulk: a connects to b's discard, sends BULK_BYTES, FIN, waits for b's FIN
//   s2c bulk: a connects to b's chargen, reads BULK_BYTES, closes
//   conn/s:   connect to discard, FIN, wait for the peer's FIN, close; 1 and 16 at a time
//   echo:     1-byte ping-pong with TCP_NODELAY on b's echo

import { performance } from 'node:perf_hooks';
import { buildSimWorld } from '../tools/sim-world.js';
import type { SimWorld } from '../tools/sim-world.js';
import { ServiceSet } from '../tools/services/registry.js';
import { setNoDelay } from '../tools/services/tcp-server.js';
import type { Socket } from '../stack/socket/socket.js';
import type { SocketListener } from '../stack/socket/socket-events.js';
import { SoRecvMsg, soreceive } from '../stack/socket/so-receive.js';
import { sosend } from '../stack/socket/so-send.js';
import { soclose, soconnect, soshutdown } from '../stack/socket/so-ops.js';
import { encodeSockaddr } from '../stack/socket/sockaddr.js';
import {
  AF_INET, IPPROTO_TCP, MSG_DONTWAIT, SHUT_WR, SOCK_STREAM, SS_ISCONNECTED, SS_ISCONNECTING,
} from '../stack/socket/constants.js';
import { EWOULDBLOCK } from '../stack/errno.js';
import type { Figure, OffloadCol } from './report.js';

export const BULK_BYTES = 32 << 20;
const CONNECTIONS = 3000;
const ECHO_ROUND_TRIPS = 20_000;
/** Wall-clock bound of any one measurement. */
const MAX_WALL_MS = 30_000;
const SIM_CAPS_ON = { tsoMaxBytes: 65536, txCsumOffload: true, rxCsumValid: true } as const;
/** Sends and reads per wakeup before yielding (bounded work per event). */
const MAX_OPS = 256;

/** A client connection on stack a: one of the four jobs, driven by socket events. */
class Client implements SocketListener {
  done = false;
  failed: string | null = null;
  sent = 0;
  received = 0;
  private connected = false;
  private shut = false;
  private readonly msg = new SoRecvMsg();
  private readonly box = { value: 0 };

  constructor(
    readonly w: SimWorld,
    readonly so: Socket,
    readonly job: 'send' | 'recv' | 'conn' | 'echo',
    readonly limit: number,
    private readonly buf: Uint8Array,
    private readonly onDone: (c: Client) => void,
  ) {}

  private get now(): number { return this.w.sim.now; }

  onSocketEvent(): void { this.step(); }

  step(): void {
    if (this.done) return;
    const so = this.so;
    if (!this.connected) {
      if ((so.so_state & SS_ISCONNECTED) === 0) {
        if (so.so_error !== 0) return this.finish(`connect failed: errno ${so.so_error}`);
        if ((so.so_state & SS_ISCONNECTING) !== 0) return;
        return this.finish('connect failed (no error posted)');
      }
      this.connected = true;
    }
    if (this.job === 'send') this.pumpSend();
    else if (this.job === 'conn' && !this.shut) { this.shut = true; soshutdown(so, SHUT_WR, this.now); }
    else if (this.job === 'echo' && this.sent === 0) this.ping();
    this.drain();
  }

  private pumpSend(): void {
    for (let i = 0; i < MAX_OPS && this.sent < this.limit; i++) {
      const n = Math.min(this.buf.length, this.limit - this.sent);
      const e = sosend(this.so, null, [this.buf.subarray(0, n)], null, null, 0, this.now, this.box);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) return this.finish(`sosend: errno ${e}`);
      this.sent += this.box.value;
      if (this.box.value < n) return;
    }
    if (this.sent >= this.limit && !this.shut) {
      this.shut = true;
      soshutdown(this.so, SHUT_WR, this.now);
    }
  }

  private ping(): void {
    const e = sosend(this.so, null, [this.buf.subarray(0, 1)], null, null, 0, this.now, this.box);
    if (e !== 0 && e !== EWOULDBLOCK) this.finish(`sosend: errno ${e}`);
    else if (this.box.value === 1) this.sent++;
  }

  private drain(): void {
    for (let i = 0; i < MAX_OPS && !this.done; i++) {
      const e = soreceive(this.so, [this.buf], MSG_DONTWAIT, this.msg, this.now);
      if (e === EWOULDBLOCK) return;
      if (e !== 0) return this.finish(`soreceive: errno ${e}`);
      if (this.msg.len === 0) {
        return this.finish(this.job === 'send' && this.sent < this.limit ? 'early EOF' : null);
      }
      this.received += this.msg.len;
      if (this.job === 'recv' && this.received >= this.limit) return this.finish(null);
      if (this.job === 'echo') {
        if (this.sent >= this.limit) return this.finish(null);
        this.ping();
      }
    }
  }

  private finish(err: string | null): void {
    if (this.done) return;
    this.done = true;
    this.failed = err;
    this.so.setListener(null);
    soclose(this.so, this.now);
    this.onDone(this);
  }
}

interface RunOutcome { cpuS: number; wallS: number; ok: boolean; error: string | null; count: number }

/**
 * Starts `parallel` clients (and a new one each time one finishes, until `total` have been
 * started), runs the simulation until all finished, returns the CPU and wall time it took.
 */
async function drive(w: SimWorld, job: Client['job'], port: number, limit: number, total: number, parallel: number): Promise<RunOutcome> {
  const a = w.a.stack;
  const to = encodeSockaddr({ addr: w.b.v4, port });
  const buf = new Uint8Array(65536).fill(0x61);
  let started = 0, finished = 0;
  let error: string | null = null;
  const start = (): void => {
    started++;
    const r = a.sockets.socreate(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (!r.ok) { error = `socreate: errno ${r.error}`; finished++; return; }
    const so = r.value;
    if (job === 'echo') setNoDelay(so);
    const c = new Client(w, so, job, limit, buf, (d) => {
      finished++;
      if (d.failed !== null && error === null) error = d.failed;
      if (started < total && error === null) start();
    });
    so.setListener(c);
    const e = soconnect(so, to, w.sim.now);
    if (e !== 0) { error = `soconnect: errno ${e}`; finished++; return; }
    c.step();
  };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < parallel && i < total; i++) start();
  // The services continue long passes on the next turn of the event loop (setImmediate): run the
  // simulation in slices and let the event loop turn between them.
  while (finished < total && error === null && performance.now() - t0 < MAX_WALL_MS) {
    w.sim.runUntil(() => finished >= total || error !== null, 20);
    if (finished < total) await new Promise((r) => setImmediate(r));
  }
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  if (error === null && finished < total) error = `not finished within ${MAX_WALL_MS} ms (${finished}/${total})`;
  return { cpuS, wallS, ok: error === null, error, count: finished };
}

function world(offload: 'off' | 'on'): { w: SimWorld; services: ServiceSet } {
  const w = buildSimWorld({ seed: 1, mtu: 1500, ...(offload === 'on' ? { caps: SIM_CAPS_ON } : {}) });
  const services = ServiceSet.start(w.b.stack, ['echo', 'discard', 'chargen']);
  return { w, services };
}

async function one(offload: 'off' | 'on', job: Client['job'], port: number, limit: number, total: number, parallel: number): Promise<RunOutcome & { counters: Record<string, number> }> {
  const { w, services } = world(offload);
  try {
    const r = await drive(w, job, port, limit, total, parallel);
    const counters: Record<string, number> = {};
    for (const [h, s] of [['a', w.a.stack], ['b', w.b.stack]] as const) {
      for (const [k, v] of Object.entries(s.tcp.stats as unknown as Record<string, unknown>)) {
        if (typeof v === 'number' && v !== 0 && /rexmt|rexmit|drop|oo|dup|badsum|timeout/i.test(k)) counters[`${h}.${k}`] = v;
      }
    }
    return { ...r, counters };
  } finally {
    services.close(true);
  }
}

/** Runs a measurement REPS times (a fresh world each time) and keeps the run with the median CPU time. */
const REPS = 5;
async function median(offload: 'off' | 'on', job: Client['job'], port: number, limit: number, total: number, parallel: number): Promise<RunOutcome & { counters: Record<string, number>; cpuSAll: number[] }> {
  const runs: Array<RunOutcome & { counters: Record<string, number> }> = [];
  for (let i = 0; i < REPS; i++) {
    const r = await one(offload, job, port, limit, total, parallel);
    if (!r.ok) return { ...r, cpuSAll: runs.map((x) => x.cpuS) };
    runs.push(r);
  }
  const sorted = [...runs].sort((x, y) => x.cpuS - y.cpuS);
  return { ...sorted[Math.floor(sorted.length / 2)]!, cpuSAll: runs.map((x) => Number(x.cpuS.toFixed(4))) };
}

export const SIM_STEPS = ['c2s', 's2c', 'conn1', 'conn16', 'echo'] as const;
export type SimStep = (typeof SIM_STEPS)[number];
export interface SimSelection { offloads: readonly ('off' | 'on')[]; steps: ReadonlySet<SimStep> }

/** The in-process measurements, with the sim network's offload emulation off and on (median of REPS runs each). */
export async function runSimTcp(log: (line: string) => void, sel: SimSelection = { offloads: ['off', 'on'], steps: new Set(SIM_STEPS) }): Promise<Figure[]> {
  const out: Figure[] = [];
  for (const off of sel.offloads) {
    const col: OffloadCol = off;
    const caps = off === 'on' ? 'sim TSO 64 KB + checksum offload emulation' : 'no offload emulation';
    // Warm the JIT once per configuration (not measured).
    await one(off, 'send', 9, 8 << 20, 1, 1);
    await one(off, 'recv', 19, 8 << 20, 1, 1);
    await one(off, 'conn', 9, 0, 500, 4);
    await one(off, 'echo', 7, 2000, 1, 1);
    for (const [key, job, port, label] of [['sim.c2s', 'send', 9, 'discard'], ['sim.s2c', 'recv', 19, 'chargen']] as const) {
      if (!sel.steps.has(key === 'sim.c2s' ? 'c2s' : 's2c')) continue;
      const r = await median(off, job, port, BULK_BYTES, 1, 1);
      out.push({
        key: `${key}.gbps`, offload: col, value: r.ok ? (BULK_BYTES * 8) / r.cpuS / 1e9 : null, unit: 'Gbit/s per CPU second',
        note: r.ok ? `${BULK_BYTES >> 20} MB to/from ${label}, both stacks in one process, ${caps}` : r.error ?? undefined,
        detail: r,
      });
      log(`  sim ${off}: ${key} ${r.ok ? `${((BULK_BYTES * 8) / r.cpuS / 1e9).toFixed(2)} Gbit/s (${r.cpuS.toFixed(2)} CPU s)` : r.error}`);
    }
    for (const par of [1, 16] as const) {
      if (!sel.steps.has(`conn${par}`)) continue;
      const r = await median(off, 'conn', 9, 0, CONNECTIONS, par);
      out.push({
        key: `sim.conn${par}.rate`, offload: col, value: r.ok ? CONNECTIONS / r.cpuS : null, unit: 'connections per CPU second',
        note: r.ok ? `${CONNECTIONS} connect/FIN/FIN/close to discard, ${par} at a time, both stacks` : r.error ?? undefined, detail: r,
      });
      log(`  sim ${off}: conn${par} ${r.ok ? `${(CONNECTIONS / r.cpuS).toFixed(0)}/s` : r.error}`);
    }
    if (!sel.steps.has('echo')) continue;
    const r = await median(off, 'echo', 7, ECHO_ROUND_TRIPS, 1, 1);
    out.push({
      key: 'sim.echo.cpuUs', offload: col, value: r.ok ? (r.cpuS * 1e6) / ECHO_ROUND_TRIPS : null, unit: 'µs CPU per round trip',
      note: r.ok ? `${ECHO_ROUND_TRIPS} 1-byte round trips with TCP_NODELAY, both stacks` : r.error ?? undefined, detail: r,
    });
    log(`  sim ${off}: echo ${r.ok ? `${((r.cpuS * 1e6) / ECHO_ROUND_TRIPS).toFixed(1)} µs/RTT` : r.error}`);
  }
  return out;
}
