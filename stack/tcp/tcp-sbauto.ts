// Socket-buffer auto-sizing (XNU tcp_sbrcv_grow in tcp_input.c, the send-side growth in
// tcp_output.c). Only buffers still marked SB_AUTOSIZE grow: setting SO_RCVBUF/SO_SNDBUF sets
// SB_USRSIZE and clears SB_AUTOSIZE (so-options.ts), after which the user's size is kept. Sizes
// never pass profile.autoRecvBufMax / autoSendBufMax nor kern.ipc.maxsockbuf (profile.maxSockBuf
// and the socket layer's sb_max).
//
// Receive: over each round trip (with timestamps: until an ACK of ours sent at the start comes back
// echoed in TSecr; without: per smoothed RTT, or 100 ms before any RTT sample) count the bytes
// received in order. When a round trip delivered more than the previous growth measured, the
// sender is filling the window: grow hiwat to 2x (4x when it grew by half again) that count,
// rounded down to whole segments (XNU's tcp_aggressive_rcvwnd_inc). The window scale offered in
// the SYN already covers autoRecvBufMax (tcpRequestScale).
//
// Send: grow by autoSendInc when the peer's window could take more than hiwat (snd_wnd * 5/4 >=
// hiwat), the buffer is 7/8 full, and the send window covers what is queued but unsent.

import type { Instant } from '../time/instant.js';
import { SB_AUTOSIZE, SB_USRSIZE } from '../socket/constants.js';
import type { SockBuf } from '../socket/sockbuf.js';
import type { Tcp } from './tcp.js';
import { TF_FASTRECOVERY, TF_RCVD_TSTMP, TF_REQ_TSTMP, Tcpcb, tcpReassEmpty } from './tcp-var.js';
import { tcpTsval } from './tcp-subr.js';
import { tsLt } from './tcp-input.js';

/** TCPTV_RCVNOTS_QUANTUM: the measurement period without timestamps or RTT samples (µs). */
const RCV_NOTS_QUANTUM_US = 100_000;
/** tcp_autosndbuf_inc: the send buffer's growth step. */
const AUTO_SND_INC = 8 * 1024;

const canGrow = (sb: SockBuf): boolean => (sb.sb_flags & (SB_AUTOSIZE | SB_USRSIZE)) === SB_AUTOSIZE;

/** sbreserve to `size` within the ceilings; true when the buffer grew. */
function grow(tcp: Tcp, sb: SockBuf, size: number, max: number): boolean {
  const layerMax = tcp.sockets.sbMax;
  let lim = max < tcp.profile.maxSockBuf ? max : tcp.profile.maxSockBuf;
  if (lim > layerMax) lim = layerMax;
  if (size > lim) size = lim;
  if (size <= sb.sb_hiwat) return false;
  if (!sb.sbreserve(size, layerMax)) return false;
  sb.sb_idealsize = size;
  return true;
}

/** Starts a new receive measurement now. */
export function tcpRcvbufMeasureStart(tp: Tcpcb, now: Instant): void {
  tp.rfbuf_ts = (tp.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP) ? tcpTsval(tp, now) : now;
  tp.rfbuf_cnt = 0;
}

/** tcp_sbrcv_grow: `len` bytes arrived in order. */
export function tcpRcvbufGrow(tcp: Tcp, tp: Tcpcb, len: number, now: Instant): void {
  const p = tcp.profile;
  const so = tp.so;
  if (!p.autoSize || so === null) return;
  const sb = so.so_rcv;
  if (!canGrow(sb) || sb.sb_hiwat >= p.autoRecvBufMax || !tcpReassEmpty(tp)) {
    tcpRcvbufMeasureStart(tp, now);
    return;
  }
  const o = tcp.optScratch;
  let rttDone: boolean;
  if ((tp.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP)) {
    // One round trip is over when the peer echoes a TSval we sent at or after the start.
    if (!o.tsPresent || o.tsEcr === 0) {
      tp.rfbuf_cnt += len;
      return;
    }
    rttDone = !tsLt(o.tsEcr, tp.rfbuf_ts);
  } else {
    const srtt = tp.rtt.srttUs;
    rttDone = now - tp.rfbuf_ts >= (srtt > 0 ? srtt : RCV_NOTS_QUANTUM_US);
  }
  tp.rfbuf_cnt += len;
  if (!rttDone) return;
  if (tp.rfbuf_cnt > tp.rfbuf_space) {
    const cnt = tp.rfbuf_cnt;
    const target = cnt > tp.rfbuf_space + (tp.rfbuf_space >>> 1) ? cnt * 4 : cnt * 2;
    let inc = target - sb.sb_hiwat;
    tp.rfbuf_space = cnt;
    const mss = tp.t_maxseg > 0 ? tp.t_maxseg : 1;
    inc -= inc % mss;
    if (inc > 0 && grow(tcp, sb, sb.sb_hiwat + inc, p.autoRecvBufMax)) tcp.stats.tcps_rcvbuf_grown++;
  }
  tcpRcvbufMeasureStart(tp, now);
}

/** The send-buffer half (tcp_output): may grow so_snd before a send decision. */
export function tcpSndbufGrow(tcp: Tcp, tp: Tcpcb, sendwin: number): void {
  const p = tcp.profile;
  const so = tp.so;
  if (!p.autoSize || so === null || (tp.t_flags & TF_FASTRECOVERY) !== 0) return;
  const sb = so.so_snd;
  if (!canGrow(sb) || sb.sb_hiwat >= p.autoSendBufMax) return;
  const inflight = (tp.snd_nxt - tp.snd_una) >>> 0;
  if (Math.floor(tp.snd_wnd / 4) * 5 >= sb.sb_hiwat && sb.sb_cc >= Math.floor(sb.sb_hiwat / 8) * 7 &&
      sendwin >= sb.sb_cc - inflight) {
    if (grow(tcp, sb, sb.sb_hiwat + AUTO_SND_INC, p.autoSendBufMax)) tcp.stats.tcps_sndbuf_grown++;
  }
}
