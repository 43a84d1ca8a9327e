// TCP_INFO (XNU tcp_private.h 0x200, tcp_usrreq.c tcp_fill_info): struct tcp_info's size and
// layout, its fields on an established connection after a transfer with a retransmission, on a
// listener, ECN, the sooptcopyout truncation, and the errnos (set: ENOPROTOOPT; get after the
// connection is gone: ECONNRESET, from tcp_ctloutput without a tcpcb).

import { describe, expect, it } from 'vitest';
import { PacketHost, PEER, TH, optMss, optSackOk, optTs, optWs } from './harness.js';
import type { Out } from './harness.js';
import { accept, listenOn, sa, send, tcpSocket } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { soconnect } from '../../stack/socket/so-ops.js';
import { sogetopt, sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, sooptInt } from '../../stack/socket/sockopt.js';
import { IPPROTO_TCP } from '../../stack/socket/constants.js';
import { ECONNRESET, ENOPROTOOPT } from '../../stack/socket/errno.js';
import { TCP_CONNECTION_INFO, TCP_INFO, tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import {
  TCPI_ECN_CLIENT_SETUP, TCPI_ECN_LOST_SYN, TCPI_ECN_SERVER_SETUP, TCPI_ECN_SUCCESS, TCPI_FLAG_LOSSRECOVERY,
  TCPI_OPT_ECN, TCPI_OPT_SACK, TCPI_OPT_TIMESTAMPS, TCPI_OPT_WSCALE, TCP_INFO_LEN, tcpConnectionInfo, tcpInfo,
} from '../../stack/tcp/tcp-info.js';
import { TCP_INFO as TCP_INFO_KPI, TCP_CONNECTION_INFO as TCP_CONNECTION_INFO_KPI } from '../../kpi/darwin-constants.js';
import { TCP_INFO as TCP_INFO_STACK } from '../../stack/index.js';
import { TCPS_CLOSED, TCPS_ESTABLISHED, TCPS_LISTEN } from '../../stack/tcp/tcp-fsm.js';
import { TE_LOST_SYN } from '../../stack/tcp/tcp-ecn.js';

const PEER_ISS = 100_000;
const MSS = 1460;

/**
 * Offsets of struct tcp_info, written from XNU bsd/netinet/tcp_private.h
 * (apple-oss-distributions/xnu, commit 1031c584a5e37aff177559b9f69dbd3c8c3fd30a): the struct is
 * declared under `#pragma pack(4)`, which caps the `__attribute__((aligned(8)))` of its u_int64_t
 * fields at 4 (GCC and Clang: the maximum field alignment overrides the aligned attribute), so the
 * fields follow one another without padding; 336 bytes.
 */
const OFF = {
  tcpi_state: 0, tcpi_options: 1, tcpi_snd_wscale: 2, tcpi_rcv_wscale: 3,
  tcpi_flags: 4, tcpi_rto: 8, tcpi_snd_mss: 12, tcpi_rcv_mss: 16,
  tcpi_rttcur: 20, tcpi_srtt: 24, tcpi_rttvar: 28, tcpi_rttbest: 32,
  tcpi_snd_ssthresh: 36, tcpi_snd_cwnd: 40, tcpi_rcv_space: 44,
  tcpi_snd_wnd: 48, tcpi_snd_nxt: 52, tcpi_rcv_nxt: 56, tcpi_last_outif: 60, tcpi_snd_sbbytes: 64,
  tcpi_txpackets: 68, tcpi_txbytes: 76, tcpi_txretransmitbytes: 84, tcpi_txunacked: 92,
  tcpi_rxpackets: 100, tcpi_rxbytes: 108, tcpi_rxduplicatebytes: 116, tcpi_rxoutoforderbytes: 124,
  tcpi_snd_bw: 132, tcpi_synrexmits: 140, tcpi_unused1: 141, tcpi_unused2: 142,
  tcpi_cell_rxpackets: 144, tcpi_cell_rxbytes: 152, tcpi_cell_txpackets: 160, tcpi_cell_txbytes: 168,
  tcpi_wifi_rxpackets: 176, tcpi_wifi_rxbytes: 184, tcpi_wifi_txpackets: 192, tcpi_wifi_txbytes: 200,
  tcpi_wired_rxpackets: 208, tcpi_wired_rxbytes: 216, tcpi_wired_txpackets: 224, tcpi_wired_txbytes: 232,
  tcpi_connstatus: 240,
  /** u_int16_t tcpi_tfo_*:1 x15, then u_int16_t tcpi_ecn_client_setup... x13 from bit 15 (pack: no bit-field padding). */
  tcpi_tfo_bits: 244,
  tcpi_ecn_recv_ce: 248, tcpi_ecn_recv_cwr: 252, tcpi_rcvoopack: 256, tcpi_pawsdrop: 260,
  tcpi_sack_recovery_episode: 264, tcpi_reordered_pkts: 268, tcpi_dsack_sent: 272, tcpi_dsack_recvd: 276,
  tcpi_flowhash: 280, tcpi_txretransmitpackets: 284, tcpi_rcv_srtt: 292,
  tcpi_client_accecn_state: 296, tcpi_server_accecn_state: 300,
  tcpi_ecn_capable_packets_sent: 304, tcpi_ecn_capable_packets_acked: 312,
  tcpi_ecn_capable_packets_marked: 320, tcpi_ecn_capable_packets_lost: 328,
} as const;
/** Field sizes in the header's order, to check the offsets are contiguous and end at 336. */
const SIZES: Record<keyof typeof OFF, number> = {
  tcpi_state: 1, tcpi_options: 1, tcpi_snd_wscale: 1, tcpi_rcv_wscale: 1,
  tcpi_flags: 4, tcpi_rto: 4, tcpi_snd_mss: 4, tcpi_rcv_mss: 4, tcpi_rttcur: 4, tcpi_srtt: 4, tcpi_rttvar: 4,
  tcpi_rttbest: 4, tcpi_snd_ssthresh: 4, tcpi_snd_cwnd: 4, tcpi_rcv_space: 4, tcpi_snd_wnd: 4, tcpi_snd_nxt: 4,
  tcpi_rcv_nxt: 4, tcpi_last_outif: 4, tcpi_snd_sbbytes: 4,
  tcpi_txpackets: 8, tcpi_txbytes: 8, tcpi_txretransmitbytes: 8, tcpi_txunacked: 8, tcpi_rxpackets: 8,
  tcpi_rxbytes: 8, tcpi_rxduplicatebytes: 8, tcpi_rxoutoforderbytes: 8, tcpi_snd_bw: 8,
  tcpi_synrexmits: 1, tcpi_unused1: 1, tcpi_unused2: 2,
  tcpi_cell_rxpackets: 8, tcpi_cell_rxbytes: 8, tcpi_cell_txpackets: 8, tcpi_cell_txbytes: 8,
  tcpi_wifi_rxpackets: 8, tcpi_wifi_rxbytes: 8, tcpi_wifi_txpackets: 8, tcpi_wifi_txbytes: 8,
  tcpi_wired_rxpackets: 8, tcpi_wired_rxbytes: 8, tcpi_wired_txpackets: 8, tcpi_wired_txbytes: 8,
  tcpi_connstatus: 4, tcpi_tfo_bits: 4,
  tcpi_ecn_recv_ce: 4, tcpi_ecn_recv_cwr: 4, tcpi_rcvoopack: 4, tcpi_pawsdrop: 4, tcpi_sack_recovery_episode: 4,
  tcpi_reordered_pkts: 4, tcpi_dsack_sent: 4, tcpi_dsack_recvd: 4, tcpi_flowhash: 4,
  tcpi_txretransmitpackets: 8, tcpi_rcv_srtt: 4, tcpi_client_accecn_state: 4, tcpi_server_accecn_state: 4,
  tcpi_ecn_capable_packets_sent: 8, tcpi_ecn_capable_packets_acked: 8, tcpi_ecn_capable_packets_marked: 8,
  tcpi_ecn_capable_packets_lost: 8,
};

interface Conn { h: PacketHost; so: Socket; lis: Socket; rcv: number; snd: number; sent: number }

/** A connection accepted from the peer (timestamps, SACK, wscale 0), the final ACK `rttMs` late. */
function established(rttMs = 30): Conn {
  const h = new PacketHost({ seed: 7 });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  h.inject({ flags: TH.SYN, seq: PEER_ISS, win: 65535, opts: [...optMss(MSS), ...optWs(0), ...optSackOk(), ...optTs(5000, 0)] });
  const synack = h.one();
  h.advance(rttMs);
  h.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: 65535, opts: optTs(peerTs(h), synack.tsval) });
  const so = accept(lis)!;
  expect(so).not.toBeNull();
  const sent = 1 + h.take().length;
  return { h, so, lis, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1, sent };
}
const peerTs = (h: PacketHost): number => 5000 + Math.floor(h.nowMs);
const data = (n: number): Uint8Array => new Uint8Array(n).fill(0x5a);
const u64 = (dv: DataView, off: number): number => dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x100000000;

function getInfo(so: Socket, size = TCP_INFO_LEN): { e: number; b: Uint8Array; dv: DataView } {
  const o = SockOpt.get(IPPROTO_TCP, TCP_INFO, size);
  const e = sogetopt(so, o);
  const b = o.result().slice();
  return { e, b, dv: new DataView(b.buffer) };
}

describe('TCP_INFO: struct tcp_info as XNU lays it out', () => {
  it('is 0x200 everywhere (stack, KPI), 336 bytes, offsets contiguous as in tcp_private.h', () => {
    expect([TCP_INFO, TCP_INFO_STACK, TCP_INFO_KPI]).toEqual([0x200, 0x200, 0x200]);
    expect(TCP_CONNECTION_INFO_KPI).toBe(TCP_CONNECTION_INFO);
    expect(TCP_INFO_LEN).toBe(336);
    let at = 0;
    for (const k of Object.keys(OFF) as (keyof typeof OFF)[]) {
      expect([k, OFF[k]]).toEqual([k, at]);
      at += SIZES[k];
    }
    expect(at).toBe(TCP_INFO_LEN);
    expect(getInfo(established().so).b.length).toBe(TCP_INFO_LEN);
  });
});

describe('TCP_INFO fields', () => {
  it('an established connection after a transfer with a retransmission', () => {
    const c = established(30);
    const tp = tcpcbOf(c.so)!;
    let tx = c.sent;
    expect(send(c.so, data(1000), c.h.now).n).toBe(1000);
    c.h.poll();
    const first = c.h.take();
    tx += first.length;
    // No ACK: the tail loss probe, then the RTO resend the segment.
    let rexmits: Out[] = [];
    for (let i = 0; i < 100 && rexmits.length < 2; i++) { c.h.advance(50); rexmits = rexmits.concat(c.h.take()); }
    expect(rexmits.map((s) => s.payload.length)).toEqual([1000, 1000]);
    tx += rexmits.length;
    const during = getInfo(c.so);
    expect(during.e).toBe(0);
    expect(during.dv.getUint32(OFF.tcpi_flags, true) & TCPI_FLAG_LOSSRECOVERY).toBe(TCPI_FLAG_LOSSRECOVERY);
    expect(during.dv.getUint32(OFF.tcpi_rto, true)).toBe(Math.floor(tp.t_rxtcur / 1000));
    expect(during.dv.getUint32(OFF.tcpi_rto, true)).toBeGreaterThan(0);
    expect(u64(during.dv, OFF.tcpi_txunacked)).toBe(1000);
    expect(during.dv.getUint32(OFF.tcpi_snd_sbbytes, true)).toBe(1000);
    // The peer acknowledges everything and sends 300 bytes, then 200 out of order.
    const ackNo = (c.rcv + 1000) >>> 0;
    c.h.inject({ flags: TH.ACK, seq: c.snd, ack: ackNo, win: 65535, opts: [1, 1, ...optTs(peerTs(c.h), tp.ts_recent)], payload: data(300) });
    c.h.inject({ flags: TH.ACK, seq: c.snd + 400, ack: ackNo, win: 65535, opts: [1, 1, ...optTs(peerTs(c.h), tp.ts_recent)], payload: data(200) });
    tx += c.h.take().length;
    const { e, b, dv } = getInfo(c.so);
    expect(e).toBe(0);
    expect(b[OFF.tcpi_state]).toBe(TCPS_ESTABLISHED);
    expect(b[OFF.tcpi_options]).toBe(TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
    expect([b[OFF.tcpi_snd_wscale], b[OFF.tcpi_rcv_wscale]]).toEqual([tp.snd_scale, tp.rcv_scale]);
    expect(tp.rcv_scale).toBeGreaterThan(0);
    expect(dv.getUint32(OFF.tcpi_flags, true)).toBe(0); // the ACK of new data ended the backoff
    expect(dv.getUint32(OFF.tcpi_rto, true)).toBe(0); // nothing outstanding: REXMT off
    expect(dv.getUint32(OFF.tcpi_snd_mss, true)).toBe(tp.t_maxseg);
    expect(dv.getUint32(OFF.tcpi_rcv_mss, true)).toBe(tp.t_maxseg);
    expect(dv.getUint32(OFF.tcpi_rttcur, true)).toBe(Math.floor(tp.rtt.lastRttUs / 1000));
    expect(dv.getUint32(OFF.tcpi_srtt, true)).toBe(Math.floor(tp.rtt.srttUs / 1000));
    expect(dv.getUint32(OFF.tcpi_srtt, true)).toBeGreaterThanOrEqual(30); // ms, not µs
    expect(dv.getUint32(OFF.tcpi_srtt, true)).toBeLessThan(1000);
    expect(dv.getUint32(OFF.tcpi_rttvar, true)).toBe(Math.floor(tp.rtt.rttvarUs / 1000));
    expect(dv.getUint32(OFF.tcpi_rttbest, true)).toBe(Math.floor(tp.rtt.minRttUs / 1000));
    expect(dv.getUint32(OFF.tcpi_snd_ssthresh, true)).toBe(Math.min(tp.snd_ssthresh, 0xffffffff));
    expect(dv.getUint32(OFF.tcpi_snd_cwnd, true)).toBe(tp.snd_cwnd);
    expect(dv.getUint32(OFF.tcpi_rcv_space, true)).toBe(tp.rcv_wnd);
    expect(dv.getUint32(OFF.tcpi_snd_wnd, true)).toBe(tp.snd_wnd);
    expect(dv.getUint32(OFF.tcpi_snd_nxt, true)).toBe(ackNo);
    expect(dv.getUint32(OFF.tcpi_rcv_nxt, true)).toBe((c.snd + 300) >>> 0);
    expect(dv.getInt32(OFF.tcpi_last_outif, true)).toBe(0);
    expect(dv.getUint32(OFF.tcpi_snd_sbbytes, true)).toBe(0);
    expect(u64(dv, OFF.tcpi_txpackets)).toBe(tx);
    expect(u64(dv, OFF.tcpi_txbytes)).toBe(3000);
    expect(u64(dv, OFF.tcpi_txretransmitbytes)).toBe(2000);
    expect(u64(dv, OFF.tcpi_txretransmitpackets)).toBe(2);
    expect(u64(dv, OFF.tcpi_txunacked)).toBe(0);
    expect(u64(dv, OFF.tcpi_rxpackets)).toBe(3); // handshake ACK + two data segments
    expect(u64(dv, OFF.tcpi_rxbytes)).toBe(500);
    expect(u64(dv, OFF.tcpi_rxoutoforderbytes)).toBe(200);
    expect(dv.getUint32(OFF.tcpi_tfo_bits, true)).toBe(0); // no TFO, no ECN (the peer's SYN asked none)
    // The fields without a source in the stack stay 0.
    const zero = [
      'tcpi_rxduplicatebytes', 'tcpi_snd_bw', 'tcpi_synrexmits', 'tcpi_unused1', 'tcpi_unused2', 'tcpi_cell_rxpackets',
      'tcpi_wired_txbytes', 'tcpi_connstatus', 'tcpi_ecn_recv_ce', 'tcpi_ecn_recv_cwr', 'tcpi_rcvoopack',
      'tcpi_pawsdrop', 'tcpi_sack_recovery_episode', 'tcpi_reordered_pkts', 'tcpi_dsack_sent', 'tcpi_dsack_recvd',
      'tcpi_flowhash', 'tcpi_rcv_srtt', 'tcpi_client_accecn_state', 'tcpi_server_accecn_state',
      'tcpi_ecn_capable_packets_sent', 'tcpi_ecn_capable_packets_lost',
    ] as const;
    for (const k of zero) expect([k, b.subarray(OFF[k], OFF[k] + SIZES[k]).every((x) => x === 0)]).toEqual([k, true]);
    // The fields both structs have agree with TCP_CONNECTION_INFO.
    const ci = new DataView(tcpConnectionInfo(tp).buffer);
    expect([ci.getUint32(12, true), ci.getUint32(24, true), ci.getUint32(44, true), u64(ci, 56), u64(ci, 104)])
      .toEqual([dv.getUint32(OFF.tcpi_rto, true), dv.getUint32(OFF.tcpi_snd_cwnd, true), dv.getUint32(OFF.tcpi_srtt, true),
        u64(dv, OFF.tcpi_txpackets), u64(dv, OFF.tcpi_txretransmitpackets)]);
  });

  it('a short buffer gets the leading bytes (sooptcopyout), a longer one the 336', () => {
    const c = established();
    const full = getInfo(c.so);
    for (const n of [1, 4, 68, 100]) {
      const s = getInfo(c.so, n);
      expect([s.e, s.b.length]).toEqual([0, n]);
      expect(s.b).toEqual(full.b.subarray(0, n));
    }
    const big = getInfo(c.so, 512);
    expect([big.e, big.b.length]).toEqual([0, TCP_INFO_LEN]);
  });

  it('a listener or unconnected socket reports only its state; set is ENOPROTOOPT; gone: ECONNRESET', () => {
    const h = new PacketHost();
    const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
    const li = getInfo(lis);
    expect([li.e, li.b.length, li.b[0]]).toEqual([0, TCP_INFO_LEN, TCPS_LISTEN]);
    expect(li.b.subarray(1).every((x) => x === 0)).toBe(true);
    const so = tcpSocket(h.stack);
    const ui = getInfo(so);
    expect([ui.e, ui.b[0], ui.b.every((x) => x === 0)]).toEqual([0, TCPS_CLOSED, true]);
    expect(sosetopt(so, SockOpt.set(IPPROTO_TCP, TCP_INFO, sooptInt(1)))).toBe(ENOPROTOOPT);
    expect(sosetopt(so, SockOpt.set(IPPROTO_TCP, TCP_INFO, new Uint8Array(TCP_INFO_LEN)))).toBe(ENOPROTOOPT);
    // The peer resets the connection: no tcpcb any more.
    const c = established();
    c.h.inject({ flags: TH.RST, seq: c.snd, win: 0 });
    expect(getInfo(c.so).e).toBe(ECONNRESET);
  });

  it('ECN: TCPI_OPT_ECN and the client/server setup, success and lost-SYN bits', () => {
    // Active open with an ECE SYN-ACK (XNU initiates ECN by default).
    const h = new PacketHost({ seed: 22 });
    const so = tcpSocket(h.stack);
    expect(soconnect(so, sa(PEER, 80), h.now)).toBe(0);
    h.poll();
    const syn = h.one();
    expect(syn.flags & (TH.ECE | TH.CWR)).toBe(TH.ECE | TH.CWR);
    h.advance(20);
    h.inject({ sport: 80, dport: syn.sport, flags: TH.SYN | TH.ACK | TH.ECE, seq: PEER_ISS, ack: syn.seq + 1, win: 65535, opts: optMss(MSS) });
    h.one();
    const a = getInfo(so);
    expect(a.b[OFF.tcpi_options]! & TCPI_OPT_ECN).toBe(TCPI_OPT_ECN);
    const bits = a.dv.getUint32(OFF.tcpi_tfo_bits, true);
    expect(bits & (TCPI_ECN_CLIENT_SETUP | TCPI_ECN_SUCCESS)).toBe(TCPI_ECN_CLIENT_SETUP | TCPI_ECN_SUCCESS);
    expect(bits & 0x7fff).toBe(0); // no TFO bits
    // Passive open from an ECN-setup SYN.
    const h2 = new PacketHost({ seed: 21 });
    const lis = listenOn(h2.stack, h2.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
    h2.inject({ flags: TH.SYN | TH.ECE | TH.CWR, seq: PEER_ISS, win: 65535, opts: optMss(MSS) });
    const synack = h2.one();
    h2.inject({ flags: TH.ACK, seq: PEER_ISS + 1, ack: synack.seq + 1, win: 65535 });
    const child = accept(lis)!;
    const p = getInfo(child);
    expect(p.b[OFF.tcpi_options]! & TCPI_OPT_ECN).toBe(TCPI_OPT_ECN);
    expect(p.dv.getUint32(OFF.tcpi_tfo_bits, true) & (TCPI_ECN_SERVER_SETUP | TCPI_ECN_SUCCESS))
      .toBe(TCPI_ECN_SERVER_SETUP | TCPI_ECN_SUCCESS);
    // TE_LOST_SYN maps to bit 18 of the word (tcpi_ecn_lost_syn, the 4th ECN bit-field).
    const tp = tcpcbOf(child)!;
    tp.ecn_flags |= TE_LOST_SYN;
    expect(new DataView(tcpInfo(tp).buffer).getUint32(OFF.tcpi_tfo_bits, true) & TCPI_ECN_LOST_SYN).toBe(1 << 18);
  });
});
