// TCP option processing for a connection (the option parts of bsd/netinet/tcp_output.c and
// tcp_input.c tcp_dooptions): the SYN / SYN-ACK layout from the profile, the per-segment
// timestamps and SACK blocks, and applying a received SYN's options to the tcpcb (RFC 7323
// window scale and timestamps, RFC 2018 SACK-permitted, RFC 9293 §3.7.1 MSS).

import type { Instant } from '../time/instant.js';
import { set16, set32 } from '../wire/bytes.js';
import type { TcpOptionsScratch } from '../wire/tcp-options.js';
import {
  TCPOPT_EOL, TCPOPT_MAXSEG, TCPOPT_NOP, TCPOPT_SACK, TCPOPT_SACK_PERMITTED, TCPOPT_TIMESTAMP,
  TCPOPT_WINDOW,
} from '../wire/tcp-options.js';
import type { SynOptionItem } from './tcp-profile.js';
import type { Tcp } from './tcp.js';
import { TCPS_ESTABLISHED } from './tcp-fsm.js';
import {
  TF_NOOPT, TF_RCVD_SCALE, TF_RCVD_TSTMP, TF_REQ_SACK, TF_REQ_SCALE, TF_REQ_TSTMP,
  TF_SACK_PERMIT, Tcpcb, TCP_MAX_WINSHIFT,
} from './tcp-var.js';
import { tcpTsval } from './tcp-subr.js';
import { tcpTfoOffersCookie, tcpTfoWriteCookie } from './tcp-fastopen.js';

/** Whether SYN option `item` goes into this SYN (synAck: answering the peer's SYN). */
function synItemOn(tp: Tcpcb, item: SynOptionItem, synAck: boolean): boolean {
  const f = tp.t_flags;
  // XNU tcp_output writes a TFO server's cookie even under TCP_NOOPT; nothing else then.
  if (item === 'fo') return synAck && tcpTfoOffersCookie(tp);
  if ((f & TF_NOOPT) !== 0) return false;
  switch (item) {
    case 'mss': return true;
    case 'wscale': return (f & TF_REQ_SCALE) !== 0 && (!synAck || (f & TF_RCVD_SCALE) !== 0);
    case 'ts': return (f & TF_REQ_TSTMP) !== 0 && (!synAck || (f & TF_RCVD_TSTMP) !== 0);
    case 'sackOK': return (f & TF_REQ_SACK) !== 0 && (!synAck || (f & TF_SACK_PERMIT) !== 0);
    default: return false;
  }
}

/**
 * FreeBSD tcp_addoptions: how many NOPs go before option `item` at offset `n` so that it sits
 * where it keeps the next 4-byte-aligned option aligned: MSS at 4n, window scale at an odd offset
 * (`while (!optlen || optlen % 2 != 1)`), SACK-permitted at an even one, timestamps at 4n+2.
 */
function bsdAlignPad(item: SynOptionItem, n: number): number {
  switch (item) {
    case 'mss': return (4 - (n & 3)) & 3;
    case 'wscale': return n === 0 || (n & 1) === 0 ? 1 : 0;
    case 'sackOK': return n & 1;
    case 'ts': return (6 - (n & 3)) & 3;
    default: return 0;
  }
}

/**
 * Writes the options of a SYN (synAck false) or SYN-ACK into buf[0..] in the order of the
 * profile's layout. Padding per profile.synOptionPadding: 'layout' writes the layout's 'nop'
 * runs, each belonging to the option after it and skipped with it, and 'eol' pads with EOL bytes
 * to a 4-byte boundary — XNU (tcp_output.c): MSS; NOP, WS; NOP, NOP, TS; SACK-permitted last; EOL
 * padding, identical for SYN and SYN-ACK since XNU has no syncache; a TFO server's SYN-ACK adds its
 * cookie ('fo') after SACK-permitted, even under TCP_NOOPT, as tcp_output does. 'bsd-align' ignores the
 * layout's NOPs and pads before each option as FreeBSD's tcp_addoptions does (bsdAlignPad).
 * Returns the length (a multiple of 4).
 */
export function tcpSynOptions(tcp: Tcp, tp: Tcpcb, synAck: boolean, now: Instant, buf: Uint8Array): number {
  if ((tp.t_flags & TF_NOOPT) !== 0 && !(synAck && tcpTfoOffersCookie(tp))) return 0;
  const layout = synAck ? tcp.profile.synAckOptions : tcp.profile.synOptions;
  const bsdAlign = tcp.profile.synOptionPadding === 'bsd-align';
  let n = 0;
  let nops = 0;
  for (let i = 0; i < layout.length; i++) {
    const item = layout[i]!;
    if (item === 'nop') {
      nops++;
      continue;
    }
    if (item === 'eol') {
      nops = 0;
      while ((n & 3) !== 0) buf[n++] = TCPOPT_EOL;
      continue;
    }
    const on = synItemOn(tp, item, synAck);
    if (on) {
      if (bsdAlign) nops = bsdAlignPad(item, n);
      for (; nops > 0; nops--) buf[n++] = TCPOPT_NOP;
    }
    nops = 0;
    if (!on) continue;
    switch (item) {
      case 'mss':
        buf[n] = TCPOPT_MAXSEG; buf[n + 1] = 4; set16(buf, n + 2, tp.t_ourmss);
        n += 4;
        break;
      case 'wscale':
        buf[n] = TCPOPT_WINDOW; buf[n + 1] = 3; buf[n + 2] = tp.request_r_scale;
        n += 3;
        break;
      case 'ts':
        buf[n] = TCPOPT_TIMESTAMP; buf[n + 1] = 10;
        set32(buf, n + 2, tcpTsval(tp, now));
        set32(buf, n + 6, synAck ? tp.ts_recent : 0);
        n += 10;
        break;
      case 'sackOK':
        buf[n] = TCPOPT_SACK_PERMITTED; buf[n + 1] = 2;
        n += 2;
        break;
      case 'fo':
        n += tcpTfoWriteCookie(tcp, tp, buf, n);
        break;
    }
  }
  while ((n & 3) !== 0) buf[n++] = TCPOPT_EOL;
  return n;
}

/**
 * Options of a non-SYN segment: NOP, NOP, TS (RFC 7323 Appendix A layout) when both sides use
 * timestamps; then, when SACK was negotiated and out-of-order data is held, NOP, NOP, SACK with
 * as many blocks as fit (RFC 2018 §4: the most recently received block first; 3 beside
 * timestamps, else 4). Returns the length (a multiple of 4).
 */
export function tcpDataOptions(tcp: Tcp, tp: Tcpcb, now: Instant, buf: Uint8Array): number {
  const f = tp.t_flags;
  if ((f & TF_NOOPT) !== 0) return 0;
  let n = 0;
  if ((f & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP)) {
    buf[0] = TCPOPT_NOP; buf[1] = TCPOPT_NOP; buf[2] = TCPOPT_TIMESTAMP; buf[3] = 10;
    set32(buf, 4, tcpTsval(tp, now));
    set32(buf, 8, tp.ts_recent);
    n = 12;
  }
  const rb = tp.sackRcv;
  if ((f & TF_SACK_PERMIT) !== 0 && tp.t_state >= TCPS_ESTABLISHED && rb !== null && (rb.count > 0 || rb.dsackPending)) {
    const max = (40 - n - 4) >>> 3;
    const edges = tcp.sackOut;
    const k = rb.fillInterleaved(edges, max);
    if (k > 0) {
      buf[n] = TCPOPT_NOP; buf[n + 1] = TCPOPT_NOP; buf[n + 2] = TCPOPT_SACK; buf[n + 3] = 2 + 8 * k;
      n += 4;
      for (let i = 0; i < k; i++, n += 8) {
        set32(buf, n, edges[2 * i]!);
        set32(buf, n + 4, edges[2 * i + 1]!);
      }
    }
  }
  return n;
}

/**
 * Applies the options of the peer's SYN (or SYN-ACK) to the tcpcb: window scaling only when both
 * SYNs carry it (RFC 7323 §2.2, shift capped at 14), timestamps likewise (§3.2; TS.Recent from
 * its TSval), SACK-permitted (RFC 2018 §2). The MSS is applied by tcpMss.
 */
export function tcpSynOptionsIn(tp: Tcpcb, o: TcpOptionsScratch, now: Instant): void {
  if ((tp.t_flags & TF_REQ_SCALE) !== 0 && o.wscale >= 0) {
    tp.t_flags |= TF_RCVD_SCALE;
    tp.snd_scale = o.wscale > TCP_MAX_WINSHIFT ? TCP_MAX_WINSHIFT : o.wscale;
  } else {
    tp.t_flags &= ~(TF_REQ_SCALE | TF_RCVD_SCALE);
    tp.snd_scale = 0;
    tp.request_r_scale = 0;
  }
  if ((tp.t_flags & TF_REQ_TSTMP) !== 0 && o.tsPresent) {
    tp.t_flags |= TF_RCVD_TSTMP;
    tp.ts_recent = o.tsVal;
    tp.ts_recent_age = now;
  } else {
    tp.t_flags &= ~(TF_REQ_TSTMP | TF_RCVD_TSTMP);
  }
  if ((tp.t_flags & TF_REQ_SACK) !== 0 && o.sackPermitted) tp.t_flags |= TF_SACK_PERMIT;
  else tp.t_flags &= ~TF_SACK_PERMIT;
}

/** The window scale both sides agreed on takes effect (RFC 7323 §2.2: once the SYNs are exchanged). */
export function tcpApplyScale(tp: Tcpcb): void {
  if ((tp.t_flags & (TF_REQ_SCALE | TF_RCVD_SCALE)) === (TF_REQ_SCALE | TF_RCVD_SCALE)) {
    tp.rcv_scale = tp.request_r_scale;
  } else {
    tp.rcv_scale = 0;
    tp.snd_scale = 0;
  }
}
