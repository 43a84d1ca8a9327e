// Two stacks on the simulated network move data over TCP, byte-exact, in virtual time.
// Every test names its seed; TCP_SEED=n replays with another one.

import { describe, expect, it } from 'vitest';
import { BulkTransfer, accept, buildWorld, connectTo, listenOn } from './helpers.js';
import type { WorldOptions } from './helpers.js';
import { TCPS_ESTABLISHED } from '../../stack/tcp/tcp-fsm.js';
import { tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import { withProfile, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';

const SEED = Number(process.env.TCP_SEED ?? 7001);

function transfer(o: WorldOptions, total: number, family: 4 | 6 = 4, maxMs = 120_000) {
  const w = buildWorld(o);
  const clock = w.sim.clock;
  const lis = listenOn(w.b.stack, family === 4 ? w.b.v4 : w.b.v6, 5001);
  const cli = connectTo(w.a.stack, family === 4 ? w.b.v4 : w.b.v6, 5001, clock.now());
  let srv: ReturnType<typeof accept> = null;
  w.sim.runUntil(() => (srv = accept(lis)) !== null, 5000);
  expect(srv).not.toBeNull();
  const t = new BulkTransfer(clock, cli, srv!, total);
  const ok = w.sim.runUntil(() => t.done, maxMs);
  return { w, t, ok, cli, srv: srv!, lis };
}

describe('TCP bulk transfer', () => {
  it(`1 MB over a clean IPv4 path arrives byte-exact (seed ${SEED})`, () => {
    const { t, ok, w, cli } = transfer({ seed: SEED, impairments: { delayMs: 5 } }, 1 << 20);
    expect(t.errors).toEqual([]);
    expect(ok).toBe(true);
    expect(t.mismatches).toBe(0);
    expect(t.received).toBe(1 << 20);
    expect(w.a.stack.tcp.stats.tcps_sndrexmitpack).toBe(0);
    expect(w.b.stack.tcp.stats.tcps_rcvbadsum).toBe(0);
    expect(tcpcbOf(cli)?.t_state ?? -1).not.toBe(TCPS_ESTABLISHED);
  });

  it(`1 MB over IPv6 (seed ${SEED + 1})`, () => {
    const { t, ok } = transfer({ seed: SEED + 1, impairments: { delayMs: 3 } }, 1 << 20, 6);
    expect(t.errors).toEqual([]);
    expect(ok).toBe(true);
    expect(t.mismatches).toBe(0);
  });

  it(`1 MB with 5% loss both ways: SACK recovery and RTOs, byte-exact (seed ${SEED + 2})`, () => {
    const { t, ok, w } = transfer({ seed: SEED + 2, impairments: { loss: 0.05, delayMs: 5 } }, 1 << 20);
    expect(t.errors).toEqual([]);
    expect(ok).toBe(true);
    expect(t.mismatches).toBe(0);
    const st = w.a.stack.tcp.stats;
    expect(st.tcps_sndrexmitpack).toBeGreaterThan(0);
    expect(st.tcps_sack_recovery_episode).toBeGreaterThan(0);
    expect(w.b.stack.tcp.stats.tcps_rcvoopack).toBeGreaterThan(0);
  });

  it(`1 MB with 20% reordering and jitter (seed ${SEED + 3})`, () => {
    const { t, ok, w } = transfer({ seed: SEED + 3, impairments: { reorder: 0.2, delayMs: 5, jitterMs: 3 } }, 1 << 20);
    expect(t.errors).toEqual([]);
    expect(ok).toBe(true);
    expect(t.mismatches).toBe(0);
    expect(w.b.stack.tcp.stats.tcps_rcvoopack).toBeGreaterThan(0);
  });

  it(`1 MB with NewReno (no SACK) under 3% loss (seed ${SEED + 4})`, () => {
    const profile = withProfile(XNU_PROFILE, { sack: false, congestionControl: 'newreno' });
    const { t, ok, w } = transfer({ seed: SEED + 4, profile, impairments: { loss: 0.03, delayMs: 5 } }, 1 << 20);
    expect(t.errors).toEqual([]);
    expect(ok).toBe(true);
    expect(t.mismatches).toBe(0);
    expect(w.a.stack.tcp.stats.tcps_sndfastrexmit).toBeGreaterThan(0);
    expect(w.a.stack.tcp.stats.tcps_sack_recovery_episode).toBe(0);
  });

  it(`2 MB with TSO and checksum offload emulated: super-segments out, GRO-free input, byte-exact (seed ${SEED + 5})`, () => {
    const caps = { tsoMaxBytes: 65536, txCsumOffload: true, rxCsumValid: true };
    const { t, ok, w } = transfer({ seed: SEED + 5, caps, impairments: { delayMs: 2 } }, 2 << 20);
    expect(t.errors).toEqual([]);
    expect(ok).toBe(true);
    expect(t.mismatches).toBe(0);
    const a = w.a.stack.tcp.stats;
    expect(a.tcps_tso_segs).toBeGreaterThan(0);
    // Segments counted per MSS, super-segments far fewer than segments.
    expect(a.tcps_sndpack).toBeGreaterThan(a.tcps_sndtotal);
    expect(w.b.stack.tcp.stats.tcps_rcvbadsum).toBe(0);
  });

  it(`1 MB over a 576-byte MTU: segments sized from the route MTU, no IP fragmentation (seed ${SEED + 6})`, () => {
    const { t, ok, w } = transfer({ seed: SEED + 6, mtu: 576, impairments: { delayMs: 2 } }, 1 << 20);
    expect(ok).toBe(true);
    expect(t.mismatches).toBe(0);
    expect(w.a.stack.ip.ipstat.ips_fragmented).toBe(0);
  });
});

describe('TCP over loopback', () => {
  it('connects to our own address and moves 256 KB through the loopback queue', () => {
    const w = buildWorld({ seed: SEED + 7 });
    const lis = listenOn(w.a.stack, w.a.v4, 7);
    const cli = connectTo(w.a.stack, w.a.v4, 7, w.sim.now);
    let srv: ReturnType<typeof accept> = null;
    w.sim.runUntil(() => (srv = accept(lis)) !== null, 1000);
    const t = new BulkTransfer(w.sim.clock, cli, srv!, 256 * 1024);
    expect(w.sim.runUntil(() => t.done, 10_000)).toBe(true);
    expect(t.mismatches).toBe(0);
  });
});
