// The structured packet fuzzer (test/fuzz): hostile packets from a third port on the simulated
// network, aimed at the live connections, listeners and sockets of two stacks while real clients
// on host a use the real services on host b. See fuzz-run.ts for what a run checks.
//
// npm test runs a short run (a few seeds, a few thousand packets); `npm run fuzz` (TUNSTACK_FUZZ=1)
// a long one. Each run prints its seed; TUNSTACK_FUZZ_SEED=<n> [TUNSTACK_FUZZ_ITERS=<packets>]
// replays one exactly. Below them: deterministic regression cases for what the fuzzer found.

import { describe, expect, it } from 'vitest';
import { TcpClient } from '../../tools/sim-tcp-client.js';
import { SERVICE_PORTS } from '../../tools/services/registry.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { TCPS_ESTABLISHED } from '../../stack/tcp/tcp-fsm.js';
import type { Tcpcb } from '../../stack/tcp/index.js';
import { tcpTsval } from '../../stack/tcp/tcp-subr.js';
import { BASE_SEED, LONG, LONG_PLAN, SHORT_PLAN } from './fuzz-config.js';
import { runFuzz } from './fuzz-run.js';
import { GENERATOR_WEIGHTS } from './generator.js';
import type { FuzzReport } from './fuzz-run.js';
import { fixture, forge4, liveTcpcb } from './fixtures.js';
import { icmpMsg, ip4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, put32, tcpSeg, udpDgram } from './wire-build.js';

function summary(r: FuzzReport): string {
  const s = r.sessions;
  return `seed ${r.seed}: ${r.packets} packets, ${r.steps} steps, ${(r.virtualMs / 1000).toFixed(0)} s virtual; ` +
    `sessions ${s.ok} ok / ${s.errno} ETIMEDOUT / ${s.disturbed} disturbed by attacks, of ${s.total}; ${r.audited} drops audited (${r.setup})`;
}

describe('packet fuzz', () => {
  it(`short run: ${SHORT_PLAN.seeds.length} seeds × ${SHORT_PLAN.packetsPerRun} packets (seeds ${SHORT_PLAN.seeds.join(', ')})`, () => {
    for (const seed of SHORT_PLAN.seeds) {
      const r = runFuzz({ seed, packets: SHORT_PLAN.packetsPerRun, log: (l) => console.log(l) });
      console.log(`  ${summary(r)}`);
      expect(r.violations, summary(r)).toEqual([]);
    }
  }, Math.max(120_000, 10 * SHORT_PLAN.seeds.length * SHORT_PLAN.packetsPerRun));

  // Each generator on its own, so that none is starved by the mix in the short run.
  it.each(GENERATOR_WEIGHTS.map(([, name]) => name))(`only the %s generator: 300 packets (seed ${BASE_SEED + 50})`, (only) => {
    const r = runFuzz({ seed: BASE_SEED + 50, packets: 300, only, log: (l) => console.log(l) });
    expect(r.violations, summary(r)).toEqual([]);
  }, 60_000);

  it.skipIf(!LONG)(
    `long run: ${LONG_PLAN.seeds.length} seeds × ${LONG_PLAN.packetsPerRun} packets${LONG ? '' : ' (skipped: a long run, use npm run fuzz or TUNSTACK_FUZZ=1)'}`,
    () => {
      const t0 = Date.now();
      let total = 0;
      for (const seed of LONG_PLAN.seeds) {
        const r = runFuzz({ seed, packets: LONG_PLAN.packetsPerRun, log: (l) => console.log(l), progressEvery: 1000 });
        total += r.packets;
        console.log(`  ${summary(r)}; ${total} packets so far, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        expect(r.violations, summary(r)).toEqual([]);
      }
    },
    24 * 3_600_000,
  );
});

// ---- what the fuzzer found ----

const ROUTER = IpAddr.of('198.18.0.254').bytes;

describe('regressions found by the fuzzer', () => {
  it(`a forged needfrag reporting a tiny MTU cannot black-hole TCP towards its destination (seed ${BASE_SEED + 500}; found by an early fuzz run, seed 10)`, () => {
    // An ICMP needfrag "from a router" quoting a UDP datagram from b to a (anyone can forge one:
    // only b's own address must be in it) reported a next-hop MTU of 68. IPv4 took it, so every DF
    // segment b's TCP sent to a failed with EMSGSIZE (TCP makes no segments below tcp_minmss): it
    // retransmitted until ETIMEDOUT and reset a connection nobody had attacked.
    const f = fixture(BASE_SEED + 500);
    const { a, b } = f.world;
    const needfrag = (mtu: number): void => {
      const quote = ip4({ src: b.v4.bytes, dst: a.v4.bytes, proto: IPPROTO_UDP, df: true, payload: udpDgram(7, 40000, new Uint8Array(1472)) });
      forge4(f, ROUTER, b.v4.bytes, IPPROTO_ICMP, icmpMsg(3, 4, mtu, quote.subarray(0, 28)));
      f.world.sim.runFor(10);
    };
    needfrag(68);
    // Below 296 (4.4BSD/XNU: max(296, tcp_minmss + 40)) a report is implausible: the plateau below the quoted 1500.
    expect(b.stack.ip.pathMtu(a.v4)).toBe(1492);
    needfrag(295);
    expect(b.stack.ip.pathMtu(a.v4)).toBe(1492);
    needfrag(300);
    expect(b.stack.ip.pathMtu(a.v4)).toBe(300);
    // TCP from b to a still moves data (chargen: b sends), at that MTU.
    let got = 0;
    const c = TcpClient.connect(a, 4, b, SERVICE_PORTS.chargen.tcp!, (d) => { got += d.length; });
    expect(f.world.sim.runUntil(() => got >= 100_000 || c.failed, 30_000)).toBe(true);
    expect(c.describeFailure()).toBe('');
    expect(b.stack.ip.ipstat.ips_cantfrag).toBe(0);
    c.close(true);
  });

  it(`one forged in-window data segment does not set off an endless ACK storm (seed ${BASE_SEED + 510}; found by an early fuzz run, seed 1)`, () => {
    // TCP (stack/tcp, fixed there): after a forged 1-byte segment at a's RCV.NXT (with an
    // acceptable ACK) a acknowledges a byte b never sent: b answers that ACK (SEG.ACK > SND.NXT)
    // with an ACK; a sees b's ACK as an old duplicate (SEG.SEQ < RCV.NXT) and answers with an ACK;
    // and so on, one round trip after the other. Without a limit that was 1000 segments a second on
    // this 1 ms path, forever (t_rcvtime stayed fresh, so no timer ended it); XNU's challengeack_limit
    // and FreeBSD's ack_war_cnt / ack_war_timewindow bound the answers to unacceptable segments.
    const f = fixture(BASE_SEED + 510);
    const { a, b, sim } = f.world;
    const c = TcpClient.connect(a, 4, b, SERVICE_PORTS.discard.tcp!, () => {});
    expect(sim.runUntil(() => c.connectErrno !== null, 1000)).toBe(true);
    c.send(new Uint8Array(1000));
    sim.runFor(200);
    const tp = liveTcpcb(c.so);
    const opts = new Uint8Array(12);
    opts.set([1, 1, 8, 10]);
    put32(opts, 4, tp.ts_recent + 1);
    put32(opts, 8, tcpTsval(tp, sim.now));
    const sent = (): number => a.stack.tcp.stats.tcps_sndtotal + b.stack.tcp.stats.tcps_sndtotal;
    const before = sent();
    forge4(f, b.v4.bytes, a.v4.bytes, IPPROTO_TCP, tcpSeg({
      sport: SERVICE_PORTS.discard.tcp!, dport: tp.t_inpcb.lport, seq: tp.rcv_nxt, ack: tp.snd_max, flags: 0x18, win: 65535,
      opts, payload: Uint8Array.of(0x41),
    }));
    sim.runFor(10_000);
    // A limited number of ACKs (the profile's challenge-ACK budget), not one per round trip.
    expect(sent() - before).toBeLessThan(150);
  });

  it(`a connection whose peer closed the window and fell silent does not persist forever (seed ${BASE_SEED + 520}; found by an early fuzz run, seed 9)`, () => {
    // TCP (stack/tcp, fixed there): a SYN from an address nobody answers for (here 198.18.0.99),
    // the handshake completed by a forged ACK advertising a zero window: the chargen server has
    // data to send, so b probes the window, every 60 s once backed off. It used to do so forever,
    // holding the socket and its send buffer; XNU's tcp_timers (TCPT_PERSIST) and FreeBSD's
    // tcp_timer_persist drop such a connection with ETIMEDOUT (tcps_persistdrop) once the probes
    // have backed off fully and nothing came back for tcp_maxpersistidle or TCP_REXMTVAL ×
    // tcp_totbackoff.
    const f = fixture(BASE_SEED + 520);
    const { b, sim } = f.world;
    const ghost = IpAddr.of('198.18.0.99').bytes;
    const port = 40_000, isn = 1_000_000;
    forge4(f, ghost, b.v4.bytes, IPPROTO_TCP, tcpSeg({
      sport: port, dport: SERVICE_PORTS.chargen.tcp!, seq: isn, ack: 0, flags: 0x02, win: 65535, opts: Uint8Array.of(2, 4, 0x05, 0xb4),
    }));
    sim.runFor(10);
    const conn = (): Tcpcb | undefined => b.stack.tcp.tcpcbs().find((tp) => tp.t_inpcb.fport === port);
    const tp = conn();
    expect(tp).toBeDefined();
    forge4(f, ghost, b.v4.bytes, IPPROTO_TCP, tcpSeg({
      sport: port, dport: SERVICE_PORTS.chargen.tcp!, seq: isn + 1, ack: (tp!.iss + 1) >>> 0, flags: 0x10, win: 0,
    }));
    sim.runFor(1000);
    expect(conn()?.t_state).toBe(TCPS_ESTABLISHED);
    expect(conn()?.snd_wnd).toBe(0);
    const drops = b.stack.tcp.stats.tcps_persistdrop;
    // Three hours of silence from the peer.
    sim.runFor(3 * 3600 * 1000);
    expect(conn()).toBeUndefined();
    expect(b.stack.tcp.stats.tcps_persistdrop).toBe(drops + 1);
  });
});
