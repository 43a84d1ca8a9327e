// The two connection-info structs TCP hands out through getsockopt: TCP_CONNECTION_INFO's
// struct tcp_connection_info (public, tcp.h) and TCP_INFO's struct tcp_info (private,
// tcp_private.h), plus the option and flag bits they share with getconninfo's conninfo_tcp
// (kpi/conninfo-tcp.ts). Filled from the tcpcb as XNU's tcp_connection_fill_info / tcp_fill_info.

import { seqSub } from '../wire/seq.js';
import { TCPS_LISTEN } from './tcp-fsm.js';
import {
  TF_FASTRECOVERY, TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_REQ_SCALE, TF_REQ_TSTMP, TF_SACK_PERMIT, TF_STREAMING_ON,
  TT_REXMT,
} from './tcp-var.js';
import type { Tcpcb } from './tcp-var.js';
import { tcpTimerArmed } from './tcp-timers.js';
import { tcpTfoInfoBits } from './tcp-fastopen.js';
import { TE_LOST_SYN, TE_LOST_SYNACK, TE_SETUPRECEIVED, TE_SETUPSENT, tcpEcnEnabled } from './tcp-ecn.js';

/**
 * tcpi_options of both structs (TCPI_OPT_* and TCPCI_OPT_* have the same values): timestamps, SACK
 * and window scaling as negotiated, ECN when it was.
 */
export function tcpInfoOptions(tp: Tcpcb): number {
  const f = tp.t_flags;
  let options = 0;
  if ((f & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP)) options |= TCPI_OPT_TIMESTAMPS;
  if ((f & TF_SACK_PERMIT) !== 0) options |= TCPI_OPT_SACK;
  if ((f & (TF_REQ_SCALE | TF_RCVD_SCALE)) === (TF_REQ_SCALE | TF_RCVD_SCALE)) options |= TCPI_OPT_WSCALE;
  if (tcpEcnEnabled(tp)) options |= TCPI_OPT_ECN;
  return options;
}

/** XNU's loss-recovery test for tcpi_flags: in fast recovery or backing off after an RTO. */
export function tcpInfoInLossRecovery(tp: Tcpcb): boolean {
  return (tp.t_flags & TF_FASTRECOVERY) !== 0 || tp.t_rxtshift > 0;
}

/** The RTO in ms while the retransmission timer runs, else 0 (tcpi_rto). */
export function tcpInfoRtoMs(tp: Tcpcb): number {
  return tcpTimerArmed(tp, TT_REXMT) ? Math.floor(tp.t_rxtcur / 1000) : 0;
}

/** Stores v as a u32, clamped to [0, 2^32 - 1] and truncated (the structs' unsigned fields). */
function putU32(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, Math.max(0, Math.min(0xffffffff, Math.floor(v))), true);
}

/** Stores a non-negative integer below 2^53 as a little-endian u64. */
function putU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v % 0x100000000, true);
  dv.setUint32(off + 4, Math.floor(v / 0x100000000), true);
}

// struct tcp_connection_info (XNU bsd/netinet/tcp.h), little-endian, 8-byte aligned:
//   0 u8 tcpi_state, 1 u8 tcpi_snd_wscale, 2 u8 tcpi_rcv_wscale, 3 u8 __pad1,
//   4 u32 tcpi_options, 8 tcpi_flags, 12 tcpi_rto (ms), 16 tcpi_maxseg, 20 tcpi_snd_ssthresh,
//   24 tcpi_snd_cwnd, 28 tcpi_snd_wnd, 32 tcpi_snd_sbbytes, 36 tcpi_rcv_wnd, 40 tcpi_rttcur (ms),
//   44 tcpi_srtt (ms), 48 tcpi_rttvar (ms), 52 u32 tcpi_tfo_* bitfield (15 bits) + __pad2,
//   56 u64 tcpi_txpackets, 64 tcpi_txbytes, 72 tcpi_txretransmitbytes, 80 tcpi_rxpackets,
//   88 tcpi_rxbytes, 96 tcpi_rxoutoforderbytes, 104 tcpi_txretransmitpackets; 112 bytes.
export const TCP_CONNECTION_INFO_LEN = 112;
export const TCPCI_OPT_TIMESTAMPS = 0x1;
export const TCPCI_OPT_SACK = 0x2;
export const TCPCI_OPT_WSCALE = 0x4;
export const TCPCI_OPT_ECN = 0x8;
export const TCPCI_FLAG_LOSSRECOVERY = 0x1;
export const TCPCI_FLAG_REORDERING_DETECTED = 0x2;

/**
 * XNU tcp_connection_fill_info: zeroed, the state always; the rest only past LISTEN. The TFO bits
 * are the server's (tcpTfoInfoBits; the client-side ones stay 0); TCPCI_OPT_ECN when ECN was
 * negotiated (TCP_ECN_ENABLED); no reordering detection (TCPCI_FLAG_REORDERING_DETECTED).
 */
export function tcpConnectionInfo(tp: Tcpcb): Uint8Array {
  const b = new Uint8Array(TCP_CONNECTION_INFO_LEN);
  const dv = new DataView(b.buffer);
  b[0] = tp.t_state;
  if (tp.t_state <= TCPS_LISTEN) return b;
  const options = tcpInfoOptions(tp);
  if ((options & TCPCI_OPT_WSCALE) !== 0) {
    b[1] = tp.snd_scale;
    b[2] = tp.rcv_scale;
  }
  putU32(dv, 4, options);
  putU32(dv, 8, tcpInfoInLossRecovery(tp) ? TCPCI_FLAG_LOSSRECOVERY : 0);
  putU32(dv, 12, tcpInfoRtoMs(tp));
  putU32(dv, 16, tp.t_maxseg);
  putU32(dv, 20, tp.snd_ssthresh);
  putU32(dv, 24, tp.snd_cwnd);
  putU32(dv, 28, tp.snd_wnd);
  putU32(dv, 32, tp.so === null ? 0 : tp.so.so_snd.sb_cc);
  putU32(dv, 36, tp.rcv_wnd);
  putU32(dv, 40, tp.rtt.lastRttUs / 1000);
  putU32(dv, 44, tp.rtt.srttUs / 1000);
  putU32(dv, 48, tp.rtt.rttvarUs / 1000);
  putU32(dv, 52, tcpTfoInfoBits(tp));
  putU64(dv, 56, tp.t_txpackets);
  putU64(dv, 64, tp.t_txbytes);
  putU64(dv, 72, tp.t_txretransmitbytes);
  putU64(dv, 80, tp.t_rxpackets);
  putU64(dv, 88, tp.t_rxbytes);
  putU64(dv, 96, tp.t_rxoutoforderbytes);
  putU64(dv, 104, tp.t_txretransmitpackets);
  return b;
}

// struct tcp_info (XNU bsd/netinet/tcp_private.h, apple-oss-distributions/xnu commit 1031c584,
// under #pragma pack(4): the u_int64_t fields' aligned(8) is capped at 4 by the pack, so nothing
// is padded; little-endian):
//   0 u8 tcpi_state, 1 u8 tcpi_options, 2 u8 tcpi_snd_wscale, 3 u8 tcpi_rcv_wscale,
//   4 u32 tcpi_flags, 8 tcpi_rto (ms), 12 tcpi_snd_mss, 16 tcpi_rcv_mss, 20 tcpi_rttcur (ms),
//   24 tcpi_srtt (ms), 28 tcpi_rttvar (ms), 32 tcpi_rttbest (ms), 36 tcpi_snd_ssthresh,
//   40 tcpi_snd_cwnd, 44 tcpi_rcv_space, 48 tcpi_snd_wnd, 52 tcpi_snd_nxt, 56 tcpi_rcv_nxt,
//   60 i32 tcpi_last_outif, 64 u32 tcpi_snd_sbbytes,
//   68 u64 tcpi_txpackets, 76 tcpi_txbytes, 84 tcpi_txretransmitbytes, 92 tcpi_txunacked,
//   100 tcpi_rxpackets, 108 tcpi_rxbytes, 116 tcpi_rxduplicatebytes, 124 tcpi_rxoutoforderbytes,
//   132 tcpi_snd_bw, 140 u8 tcpi_synrexmits, 141 u8 tcpi_unused1, 142 u16 tcpi_unused2,
//   144..239 u64 tcpi_{cell,wifi,wired}_{rx,tx}{packets,bytes} (cell rxpackets, rxbytes, txpackets,
//   txbytes, then wifi, then wired), 240 u32 tcpi_connstatus,
//   244 u16 tcpi_tfo_* (15 bits, as in TCP_CONNECTION_INFO) and the u16 tcpi_ecn_client_setup...
//   tcpi_rcv_background (13 bits), which under the pack start at bit 15 of the little-endian word at
//   244 (no padding between bit-fields under #pragma pack, GCC and Clang alike),
//   248 u32 tcpi_ecn_recv_ce, 252 tcpi_ecn_recv_cwr, 256 tcpi_rcvoopack, 260 tcpi_pawsdrop,
//   264 tcpi_sack_recovery_episode, 268 tcpi_reordered_pkts, 272 tcpi_dsack_sent,
//   276 tcpi_dsack_recvd, 280 tcpi_flowhash, 284 u64 tcpi_txretransmitpackets, 292 u32 tcpi_rcv_srtt,
//   296 tcpi_client_accecn_state, 300 tcpi_server_accecn_state, 304 u64
//   tcpi_ecn_capable_packets_sent, 312 _acked, 320 _marked, 328 _lost; 336 bytes. Newer XNU appends
// fields ("add new fields at the end only"); sooptcopyout gives a caller the prefix it asks for.
export const TCP_INFO_LEN = 336;
export const TCPI_OPT_TIMESTAMPS = 0x01;
export const TCPI_OPT_SACK = 0x02;
export const TCPI_OPT_WSCALE = 0x04;
export const TCPI_OPT_ECN = 0x08;
export const TCPI_FLAG_LOSSRECOVERY = 0x01;
export const TCPI_FLAG_STREAMING_ON = 0x02;
/** Bits of the little-endian u32 at offset 244 above the 15 tcpi_tfo_* bits. */
/** tcpi_flags of struct tcp_info (getconninfo's conninfo_tcp carries the same). */
export function tcpInfoFlags(tp: Tcpcb): number {
  let flags = tcpInfoInLossRecovery(tp) ? TCPI_FLAG_LOSSRECOVERY : 0;
  if ((tp.t_flags & TF_STREAMING_ON) !== 0) flags |= TCPI_FLAG_STREAMING_ON;
  return flags;
}

export const TCPI_ECN_CLIENT_SETUP = 1 << 15;
export const TCPI_ECN_SERVER_SETUP = 1 << 16;
export const TCPI_ECN_SUCCESS = 1 << 17;
export const TCPI_ECN_LOST_SYN = 1 << 18;
export const TCPI_ECN_LOST_SYNACK = 1 << 19;

/**
 * XNU tcp_fill_info: zeroed, the state always; the rest only past LISTEN (as older XNU's
 * tcp_fill_info and this stack's TCP_CONNECTION_INFO; current XNU dropped that test and also
 * fills a listener's cwnd/ssthresh/mss). Filled: options (TCPI_OPT_TIMESTAMPS/SACK/WSCALE with
 * the shifts, TCPI_OPT_ECN when negotiated), flags (LOSSRECOVERY in fast recovery or RTO backoff,
 * STREAMING_ON), rto while REXMT runs, snd/rcv mss (both t_maxseg, as XNU), RTTs in ms (rttbest =
 * smallest sample), ssthresh, cwnd, rcv_space (rcv_wnd), snd_wnd, snd_nxt, rcv_nxt, snd_sbbytes,
 * tx/rx packets and bytes, retransmitted bytes and packets, txunacked (snd_max - snd_una), out of
 * order bytes, the server TFO bits, ecn client/server setup, success, lost SYN / SYN-ACK.
 * Stay 0 because the stack has no source for them: last_outif (no inp_last_outifp; KPI
 * getconninfo derives it from the route), snd_bw (no TCP_MEASURE_SND_BW), rxduplicatebytes,
 * synrexmits, rcvoopack, pawsdrop, sack_recovery_episode, reordered_pkts, dsack_sent/recvd,
 * ecn_recv_ce/cwr (only stack-wide tcps_* counters), the cell/wifi/wired split and tcpi_if_*
 * (no interface types), connstatus (no TCP_CONNECTION_PROBE), local_peer (no TF_LOCAL),
 * snd/rcv_background (no background CC), flowhash (no inp_flowhash), rcv_srtt (no receiver RTT
 * estimate), AccECN states and ECT packet counters (classic ECN only), client-side TFO bits.
 */
export function tcpInfo(tp: Tcpcb): Uint8Array {
  const b = new Uint8Array(TCP_INFO_LEN);
  const dv = new DataView(b.buffer);
  b[0] = tp.t_state;
  if (tp.t_state <= TCPS_LISTEN) return b;
  const options = tcpInfoOptions(tp);
  if ((options & TCPI_OPT_WSCALE) !== 0) {
    b[2] = tp.snd_scale;
    b[3] = tp.rcv_scale;
  }
  b[1] = options;
  putU32(dv, 4, tcpInfoFlags(tp));
  putU32(dv, 8, tcpInfoRtoMs(tp));
  putU32(dv, 12, tp.t_maxseg);
  putU32(dv, 16, tp.t_maxseg);
  putU32(dv, 20, tp.rtt.lastRttUs / 1000);
  putU32(dv, 24, tp.rtt.srttUs / 1000);
  putU32(dv, 28, tp.rtt.rttvarUs / 1000);
  putU32(dv, 32, tp.rtt.minRttUs / 1000);
  putU32(dv, 36, tp.snd_ssthresh);
  putU32(dv, 40, tp.snd_cwnd);
  putU32(dv, 44, tp.rcv_wnd);
  putU32(dv, 48, tp.snd_wnd);
  dv.setUint32(52, tp.snd_nxt >>> 0, true);
  dv.setUint32(56, tp.rcv_nxt >>> 0, true);
  putU32(dv, 64, tp.so === null ? 0 : tp.so.so_snd.sb_cc);
  putU64(dv, 68, tp.t_txpackets);
  putU64(dv, 76, tp.t_txbytes);
  putU64(dv, 84, tp.t_txretransmitbytes);
  putU64(dv, 92, seqSub(tp.snd_max, tp.snd_una) >>> 0);
  putU64(dv, 100, tp.t_rxpackets);
  putU64(dv, 108, tp.t_rxbytes);
  putU64(dv, 124, tp.t_rxoutoforderbytes);
  let bits = tcpTfoInfoBits(tp);
  const ef = tp.ecn_flags;
  if ((ef & TE_SETUPSENT) !== 0) bits |= TCPI_ECN_CLIENT_SETUP;
  if ((ef & TE_SETUPRECEIVED) !== 0) bits |= TCPI_ECN_SERVER_SETUP;
  if ((options & TCPI_OPT_ECN) !== 0) bits |= TCPI_ECN_SUCCESS;
  if ((ef & TE_LOST_SYN) !== 0) bits |= TCPI_ECN_LOST_SYN;
  if ((ef & TE_LOST_SYNACK) !== 0) bits |= TCPI_ECN_LOST_SYNACK;
  dv.setUint32(244, bits >>> 0, true);
  putU64(dv, 284, tp.t_txretransmitpackets);
  return b;
}
