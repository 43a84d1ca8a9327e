// TCP Fast Open, server side (RFC 7413), as XNU's server does it: bsd/netinet/tcp_input.c
// (tcp_dooptions TCPOPT_FASTOPEN, tcp_tfo_syn, the LISTEN case and `dodata`, the SYN_RECEIVED ACK),
// tcp_output.c (tcp_tfo_write_cookie_rep), tcp_subr.c (tcp_tfo_gen_cookie, tcp_sysctl_fastopenkey,
// tcp_close), tcp_usrreq.c (TCP_FASTOPEN, tcp_connection_fill_info).
//
//   TCP_FASTOPEN (0 or 1) on a LISTEN socket sets its TF_FASTOPEN mark; children inherit it.
//   SYN with an empty option (cookie request)  → the SYN-ACK carries our cookie (8 bytes).
//   SYN with a cookie that matches             → while fewer than net.inet.tcp.fastopen_backlog TFO
//       children wait in SYN_RECEIVED (stack-wide, tcp_tfo_halfcnt), the child is connected at once
//       (soisconnected: on the listener's completed queue, acceptable), the SYN's data goes to its
//       receive buffer and the SYN-ACK acknowledges it; the handshake's ACK ends the half-open
//       count without connecting it a second time. Beyond the backlog: an ordinary handshake.
//   SYN with a cookie that does not match      → an ordinary handshake, a fresh cookie in the SYN-ACK.
// As in XNU (tcp_disconnect), an early-accepted child closed while still in SYN_RECEIVED is freed
// at once: with unread data with a RST, else silently (the peer's ACK then meets the listener and
// gets a RST); a server must not close before the handshake's ACK, e.g. by reading to EOF first.
// In the ordinary cases the SYN's data is not acknowledged by the SYN-ACK. XNU frees it (its
// `dodata` takes SYN_RECEIVED data only with a valid cookie); this stack keeps its RFC 9293
// queueing of SYN data (tcp-input.ts tcpSynDataQueue), delivered once the handshake completes.
// XNU's TFO heuristics (tcp_cache.c) and probes guard the client side only; the server has none.
//
// Deviations from XNU:
// * The cookie. XNU encrypts one zero-padded 16-byte block holding the client's address (4 or 16
//   bytes) with AES-128 under a key read from the random device at boot, sends the first 8 bytes
//   and accepts a cookie of 4..16 bytes whose bytes equal as many leading bytes of that block.
//   Here the block is hashed with the stack's keyed SipHash-2-4 (stack/random/siphash.ts) twice —
//   the block, then the block followed by one byte 0x01 — to fill the same 16 bytes; lengths and
//   comparison are XNU's. The key is drawn from the stack's injected RNG (so a simulation replays
//   it from its seed) at first use rather than at start, so a stack that never sees TFO draws no
//   extra randomness; net.inet.tcp.fastopen_key replaces it as in XNU.
// * Data an application writes on an early-accepted child waits for the handshake's ACK. XNU's
//   tcp_output sends it by repeating the SYN-ACK with the data ("We are sending the SYN again!"),
//   which a peer that is already ESTABLISHED answers with a challenge ACK (RFC 5961 §4), so the
//   data would only get through on a retransmission.
// * A FIN on a SYN with a valid cookie (only possible with net.inet.tcp.drop_synfin=0) is not
//   taken; XNU would take it and move the child to CLOSE_WAIT before its SYN-ACK.
// Client-side TFO is not implemented: XNU starts it through the newer connectx with
// CONNECT_DATA_IDEMPOTENT, and this stack's connectx has the 2012 signature of the specification.

import type { Rng } from '../random/rng.js';
import { SipHash24 } from '../random/siphash.js';
import { MAX_TCPOPTLEN, TCPOLEN_FASTOPEN_REQ, TCPOPT_FASTOPEN } from '../wire/tcp-options.js';
import type { Tcp } from './tcp.js';
import type { Tcpcb } from './tcp-var.js';

/** Bits of net.inet.tcp.fastopen (XNU tcp_var.h). */
export const TCP_FASTOPEN_SERVER = 0x01;
export const TCP_FASTOPEN_CLIENT = 0x02;

/** The cookie length XNU's server sends (TFO_COOKIE_LEN_DEFAULT). */
export const TFO_COOKIE_LEN_DEFAULT = 8;
/** XNU TCP_FASTOPEN_KEYLEN: the key, 16 bytes. */
const TCP_FASTOPEN_KEYLEN = 16;

// t_tfo_flags (XNU tcp_var.h; server bits only)
/** The SYN-ACK offers our cookie (the SYN asked for one or brought a wrong one). */
export const TFO_F_OFFER_COOKIE = 0x01;
/** The SYN's cookie was valid: the child counts in tcp_tfo_halfcnt until established or closed. */
export const TFO_F_COOKIE_VALID = 0x02;

// t_tfo_stats (XNU tcp_var.h; server bits only)
export const TFO_S_SYNDATA_RCV = 0x01;
export const TFO_S_COOKIEREQ_RECV = 0x02;
export const TFO_S_COOKIE_SENT = 0x04;
export const TFO_S_COOKIE_INVALID = 0x08;

// The tcpi_tfo_* bitfield word of struct tcp_connection_info (offset 52, least significant bit
// first: cookie_req, cookie_rcv, syn_loss, syn_data_sent, syn_data_acked, syn_data_rcv,
// cookie_req_rcv, cookie_sent, cookie_invalid, cookie_wrong, no_cookie_rcv, heuristics_disable,
// send_blackhole, recv_blackhole, onebyte_proxy). The server sets these four.
export const TCPI_TFO_SYN_DATA_RCV = 1 << 5;
export const TCPI_TFO_COOKIE_REQ_RCV = 1 << 6;
export const TCPI_TFO_COOKIE_SENT = 1 << 7;
export const TCPI_TFO_COOKIE_INVALID = 1 << 8;

/** The stack-wide server state: the cookie key and XNU's tcp_tfo_halfcnt. One per Tcp. */
export class TfoServer {
  /** XNU tcp_tfo_halfcnt: children with a valid cookie not yet established nor closed. */
  halfcnt = 0;
  /** The last cookie block made by cookie(). */
  readonly cookieBuf = new Uint8Array(16);
  private readonly randomKey = new Uint8Array(TCP_FASTOPEN_KEYLEN);
  private randomKeyDrawn = false;
  private sip: SipHash24 | null = null;
  /** The profile key the hasher was set up with ('' = the random key). */
  private sipKeyText = '';
  /** The client's address, zero-padded to 16 bytes, and the domain byte of the second half. */
  private readonly block = new Uint8Array(17);

  constructor(private readonly rng: Rng) {}

  /**
   * tcp_tfo_gen_cookie: the 16-byte cookie block for the client address `faddr` (4 or 16 bytes)
   * under `keyText` (profile.fastopenKey), in cookieBuf. See the file comment for the SipHash
   * deviation.
   */
  cookie(keyText: string, faddr: Uint8Array): Uint8Array {
    const sip = this.hasher(keyText);
    const b = this.block;
    b.fill(0);
    const n = faddr.length < 16 ? faddr.length : 16;
    for (let i = 0; i < n; i++) b[i] = faddr[i]!;
    const out = this.cookieBuf;
    sip.hash(b, 0, 16);
    putLe64(out, 0, sip.lo, sip.hi);
    b[16] = 1;
    sip.hash(b, 0, 17);
    putLe64(out, 8, sip.lo, sip.hi);
    return out;
  }

  private hasher(keyText: string): SipHash24 {
    if (this.sip !== null && this.sipKeyText === keyText) return this.sip;
    let key: Uint8Array;
    if (keyText === '') {
      if (!this.randomKeyDrawn) {
        this.rng.fill(this.randomKey);
        this.randomKeyDrawn = true;
      }
      key = this.randomKey;
    } else {
      key = fastopenKeyBytes(keyText);
    }
    if (this.sip === null) this.sip = new SipHash24(key);
    else this.sip.setKey(key);
    this.sipKeyText = keyText;
    return this.sip;
  }
}

/**
 * The key bytes of a net.inet.tcp.fastopen_key value, read as tcp_sysctl_fastopenkey reads it:
 * four `%8x` words, each stored in host (little-endian) order.
 */
export function fastopenKeyBytes(hex: string): Uint8Array {
  const key = new Uint8Array(TCP_FASTOPEN_KEYLEN);
  for (let i = 0; i < 4; i++) {
    const w = parseInt(hex.slice(8 * i, 8 * i + 8), 16) >>> 0;
    key[4 * i] = w & 0xff;
    key[4 * i + 1] = (w >>> 8) & 0xff;
    key[4 * i + 2] = (w >>> 16) & 0xff;
    key[4 * i + 3] = w >>> 24;
  }
  return key;
}

function putLe64(out: Uint8Array, off: number, lo: number, hi: number): void {
  for (let i = 0; i < 4; i++) {
    out[off + i] = (lo >>> (8 * i)) & 0xff;
    out[off + 4 + i] = (hi >>> (8 * i)) & 0xff;
  }
}

/**
 * tcp_tfo_syn, for a child of a TCP_FASTOPEN listener whose SYN is in tcp.optScratch (its PCB is
 * connected, so the cookie is the one of its peer's address). Returns true when the SYN's cookie
 * is valid and the fastopen backlog has room: the child is to be connected now and the SYN's data
 * taken. A cookie request or a wrong cookie sets TFO_F_OFFER_COOKIE; a full backlog does nothing
 * (no cookie offered, no counter, as in XNU).
 */
export function tcpTfoSyn(tcp: Tcp, tp: Tcpcb): boolean {
  const o = tcp.optScratch;
  const p = tcp.profile;
  if ((!o.foReq && o.foCookieLen === 0) || (p.fastopen & TCP_FASTOPEN_SERVER) === 0) return false;
  const st = tcp.stats;
  if (o.foReq) {
    tp.t_tfo_flags |= TFO_F_OFFER_COOKIE;
    tp.t_tfo_stats |= TFO_S_COOKIEREQ_RECV;
    st.tcps_tfo_cookie_req_rcv++;
    return false;
  }
  const ours = tcp.tfo.cookie(p.fastopenKey, tp.t_inpcb.faddr.bytes);
  let same = true;
  for (let i = 0; i < o.foCookieLen; i++) if (ours[i] !== o.foCookie[i]) same = false;
  if (!same) {
    tp.t_tfo_flags |= TFO_F_OFFER_COOKIE;
    tp.t_tfo_stats |= TFO_S_COOKIE_INVALID;
    st.tcps_tfo_cookie_invalid++;
    return false;
  }
  if (tcp.tfo.halfcnt >= p.fastopenBacklog) return false;
  tcp.tfo.halfcnt++;
  tp.t_tfo_flags |= TFO_F_COOKIE_VALID;
  tp.t_tfo_stats |= TFO_S_SYNDATA_RCV;
  st.tcps_tfo_syn_data_rcv++;
  return true;
}

/**
 * The handshake's ACK reached a child (tcp_input, SYN_RECEIVED): a child that was connected on
 * its SYN (TFO_F_COOKIE_VALID) leaves tcp_tfo_halfcnt and must not be connected again. Returns
 * true when the socket is still to be told (soisconnected).
 */
export function tcpTfoEstablished(tcp: Tcp, tp: Tcpcb): boolean {
  if ((tp.t_tfo_flags & TFO_F_COOKIE_VALID) === 0) return true;
  tp.t_tfo_flags &= ~TFO_F_COOKIE_VALID;
  tcp.tfo.halfcnt--;
  return false;
}

/** tcp_close: a child that never got its handshake's ACK leaves tcp_tfo_halfcnt. */
export function tcpTfoClose(tcp: Tcp, tp: Tcpcb): void {
  if ((tp.t_tfo_flags & TFO_F_COOKIE_VALID) === 0) return;
  tp.t_tfo_flags &= ~TFO_F_COOKIE_VALID;
  tcp.tfo.halfcnt--;
}

/**
 * tcp_tfo_write_cookie_rep: the Fast Open option with our cookie (TFO_COOKIE_LEN_DEFAULT bytes)
 * at buf[n] of a SYN-ACK that offers one, when 10 bytes of the 40 are left. Returns the bytes
 * written (0 or 10). Every SYN-ACK written with it counts, retransmissions included (a SYN is
 * always sent once tcp_output has built its options).
 */
export function tcpTfoWriteCookie(tcp: Tcp, tp: Tcpcb, buf: Uint8Array, n: number): number {
  const len = TCPOLEN_FASTOPEN_REQ + TFO_COOKIE_LEN_DEFAULT;
  if (MAX_TCPOPTLEN - n < len) return 0;
  const c = tcp.tfo.cookie(tcp.profile.fastopenKey, tp.t_inpcb.faddr.bytes);
  buf[n] = TCPOPT_FASTOPEN;
  buf[n + 1] = len;
  for (let i = 0; i < TFO_COOKIE_LEN_DEFAULT; i++) buf[n + 2 + i] = c[i]!;
  tp.t_tfo_stats |= TFO_S_COOKIE_SENT;
  tcp.stats.tcps_tfo_cookie_sent++;
  return len;
}

/** Whether a SYN-ACK of `tp` offers a cookie (tfo_enabled and TFO_F_OFFER_COOKIE). */
export const tcpTfoOffersCookie = (tp: Tcpcb): boolean =>
  tp.t_fastopen && (tp.t_tfo_flags & TFO_F_OFFER_COOKIE) !== 0;

/** The tcpi_tfo_* word of TCP_CONNECTION_INFO (tcp_connection_fill_info). */
export function tcpTfoInfoBits(tp: Tcpcb): number {
  const s = tp.t_tfo_stats;
  let v = 0;
  if ((s & TFO_S_SYNDATA_RCV) !== 0) v |= TCPI_TFO_SYN_DATA_RCV;
  if ((s & TFO_S_COOKIEREQ_RECV) !== 0) v |= TCPI_TFO_COOKIE_REQ_RCV;
  if ((s & TFO_S_COOKIE_SENT) !== 0) v |= TCPI_TFO_COOKIE_SENT;
  if ((s & TFO_S_COOKIE_INVALID) !== 0) v |= TCPI_TFO_COOKIE_INVALID;
  return v;
}
