// A connection whose two ends a forged in-window segment has put out of step (RCV.NXT of one side
// ahead of what the other really sent), on the simulated network. As in XNU, the ACKs each side
// owes the other ("ACK for data not yet sent", "ACK to resynchronize") stay within the RFC 5961 §7
// per-connection budget instead of bouncing forever, and the connection ends the way XNU ends it:
// data that can no longer be acknowledged times out (RTO, ETIMEDOUT), and the other end learns of
// it from the RST that its next segment draws from the closed port.

import { describe, expect, it } from 'vitest';
import { mFromBytes } from '../../stack/mbuf/chain.js';
import { ECONNRESET, ETIMEDOUT } from '../../stack/errno.js';
import { TH_ACK, TH_PUSH } from '../../stack/wire/tcp.js';
import { SOL_SOCKET, SO_KEEPALIVE } from '../../stack/socket/constants.js';
import { FREEBSD_PROFILE, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { buildSeg } from '../tcp/harness.js';
import {
  BASE_SEED, TCP_KEEPALIVE, countersSummary, setInt, setTcpInt, stat, tcpPcbCount, tcpcbOf, tcpWorld,
} from './harness.js';
import { PORT, establish, send } from './socket-calls.js';

interface RunOptions { readonly bWrites: boolean; readonly bKeepaliveSec?: number }

function run(seed: number, profile: TcpProfile, o: RunOptions) {
  const w = tcpWorld({ seed, impairments: { delayMs: 10 }, profile });
  const { client, server } = establish(w);
  const ta = tcpcbOf(client.so)!, tb = tcpcbOf(server.so)!;
  if (o.bKeepaliveSec !== undefined) {
    expect(setInt(server.so, SOL_SOCKET, SO_KEEPALIVE, 1)).toBe(0);
    expect(setTcpInt(server.so, TCP_KEEPALIVE, o.bKeepaliveSec)).toBe(0);
  }
  // 1000 bytes "from a" that a never sent: b's RCV.NXT runs 1000 ahead of a's SND.MAX.
  const forged = buildSeg({
    sport: ta.t_inpcb.lport, dport: PORT, seq: ta.snd_max, ack: tb.snd_max, flags: TH_ACK | TH_PUSH,
    win: 65535, payload: new Uint8Array(1000).fill(0x58),
  });
  const rx = w.net.port('b').receiver!;
  rx.receiveBatch([mFromBytes(rx.pool, forged, 0)!], 1, w.sim.now);
  expect(tb.rcv_nxt).toBe((ta.snd_max + 1000) >>> 0);
  const t0 = w.sim.now;
  const pkts0 = w.net.port('a').stats.txPackets + w.net.port('b').stats.txPackets;
  // The applications go on writing: a less than the forged 1000 bytes (so it never catches up).
  expect(send(w, client.so, 300).e).toBe(0);
  w.sim.runFor(1000);
  if (o.bWrites) expect(send(w, server.so, 300).e).toBe(0);
  const ok = w.sim.runUntil(() => client.so.so_error !== 0 && server.so.so_error !== 0, 30 * 60_000);
  return {
    w, client, server, ok, why: countersSummary(w), seconds: (w.sim.now - t0) / 1e6,
    packets: w.net.port('a').stats.txPackets + w.net.port('b').stats.txPackets - pkts0,
  };
}

describe('a desynchronized connection ends instead of storming', () => {
  for (const [name, profile, seedOff] of [['XNU', XNU_PROFILE, 330], ['FreeBSD', FREEBSD_PROFILE, 332]] as const) {
    it(`${name}: both ends write; neither gets its data acknowledged and both time out (seed ${BASE_SEED + seedOff})`, () => {
      const r = run(BASE_SEED + seedOff, profile, { bWrites: true });
      expect(r.ok, r.why).toBe(true);
      // Every ACK b sends is beyond a's SND.MAX and every ACK a sends is below b's: maxRxtShift RTOs.
      expect([r.client.so.so_error, r.server.so.so_error], r.why).toEqual([ETIMEDOUT, ETIMEDOUT]);
      expect([stat(r.w.a.stack, 'tcps_timeoutdrop'), stat(r.w.b.stack, 'tcps_timeoutdrop')]).toEqual([1, 1]);
      // a's RST (at its SND.MAX, left of b's window) is ignored, as in XNU.
      expect(stat(r.w.b.stack, 'tcps_badrst')).toBe(1);
      expect(tcpPcbCount(r.w.a.stack)).toBe(0);
      expect(tcpPcbCount(r.w.b.stack)).toBe(1); // the listener
      // Within the RTO schedule, and a few packets a second where a storm would send thousands.
      expect(r.seconds).toBeLessThan(200);
      expect(r.packets / r.seconds, r.why).toBeLessThan(profile.challengeAckLimit);
      expect(stat(r.w.a.stack, 'tcps_challengeack_limited')).toBeGreaterThan(0);
    });

    it(`${name}: only a writes; a times out, idle b learns it from its keepalive probe (seed ${BASE_SEED + seedOff + 1})`, () => {
      const r = run(BASE_SEED + seedOff + 1, profile, { bWrites: false, bKeepaliveSec: 600 });
      expect(r.ok, r.why).toBe(true);
      expect(r.client.so.so_error, r.why).toBe(ETIMEDOUT);
      // b's probe <SEQ=SND.UNA-1><ACK=RCV.NXT> reaches a closed port, whose RST at that ACK is exact.
      expect(r.server.so.so_error, r.why).toBe(ECONNRESET);
      expect(stat(r.w.b.stack, 'tcps_keepprobe')).toBe(1);
      // The probe comes TCP_KEEPALIVE after the last segment b got, a's last retransmission.
      expect(r.seconds).toBeGreaterThanOrEqual(600);
      expect(r.seconds).toBeLessThan(600 + 200);
      expect(tcpPcbCount(r.w.a.stack)).toBe(0);
      expect(tcpPcbCount(r.w.b.stack)).toBe(1);
      expect(r.packets, r.why).toBeLessThan(40 * profile.challengeAckLimit);
    });
  }
});
