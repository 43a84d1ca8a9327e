// TCP's user requests (bsd/netinet/tcp_usrreq.c tcp_usrreqs, tcp_ctloutput): what the socket
// layer calls through the protocol switch for SOCK_STREAM/IPPROTO_TCP in AF_INET and AF_INET6.
// connect starts the handshake (SYN_SENT) and returns at once with SS_ISCONNECTING; listen puts
// the tcpcb in LISTEN (children come from sonewconn in tcp-input.ts); send appends to so_snd and
// runs tcp_output; disconnect/close follow tcp_disconnect/tcp_usrclosed (RST on unread data or
// linger 0, else FIN); options per xnu-sockets.md §6.5.

import { inGetpeeraddr, inGetsockaddr } from '../inpcb/in-pcb.js';
import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import type { Instant } from '../time/instant.js';
import type { InPcb } from '../inpcb/in-pcb.js';
import { ipCtloutput } from '../inpcb/ip-ctloutput.js';
import type { Box, PrUsrreqs } from '../socket/protosw.js';
import { PRUS_OOB } from '../socket/protosw.js';
import type { Socket } from '../socket/socket.js';
import { socantsendmore, soisconnecting, soisdisconnected, soisdisconnecting, soreserve } from '../socket/socket.js';
import type { SockOpt } from '../socket/sockopt.js';
import { SOPT_SET, sooptcopyinInt, sooptcopyout, sooptcopyoutInt } from '../socket/sockopt.js';
import { decodeSockaddr, encodeSockaddr, familyOfAf } from '../socket/sockaddr.js';
import {
  IPPROTO_TCP, MSG_PEEK, SB_AUTOSIZE, SOF_NOTSENT_LOWAT, SOL_SOCKET, SO_KEEPALIVE, SO_LINGER,
  SO_OOBINLINE, SS_ISDISCONNECTED, SS_RCVATMARK,
} from '../socket/constants.js';
import {
  EAFNOSUPPORT, ECONNABORTED, ECONNRESET, EINVAL, EISCONN, ENOBUFS, ENOPROTOOPT, ENOTSUP, EOPNOTSUPP,
  EWOULDBLOCK,
} from '../socket/errno.js';
import { seqAdd, seqSub } from '../wire/seq.js';
import type { Tcp } from './tcp.js';
import {
  TCPS_CLOSED, TCPS_CLOSE_WAIT, TCPS_ESTABLISHED, TCPS_FIN_WAIT_1, TCPS_FIN_WAIT_2, TCPS_LAST_ACK,
  TCPS_LISTEN, TCPS_SYN_RECEIVED, TCPS_SYN_SENT, TCPS_TIME_WAIT,
} from './tcp-fsm.js';
import {
  TCPOOB_HADDATA, TCPOOB_HAVEDATA, TF_CLOSED, TF_FORCEDATA, TF_NEEDFIN, TF_NODELAY, TF_NOOPT,
  TF_NOPUSH, TF_RCVD_TSTMP, TF_REQ_TSTMP, TT_2MSL, TT_KEEP,
  Tcpcb, intotcpcb, tcpReassEmpty,
} from './tcp-var.js';
import {
  tcpClose, tcpDetachSocket, tcpInternAddr, tcpDrop, tcpMssopt, tcpNewTcpcb, tcpRequestScale, TCPOLEN_TSTAMP_APPA,
} from './tcp-subr.js';
import { keepIdleUs, keepInitUs, tcpSetTimer } from './tcp-timers.js';
import { tcpOutput } from './tcp-output.js';
import { tcpPmtudSetDisabled } from './tcp-pmtud-blackhole.js';
import { TCP_FASTOPEN_SERVER } from './tcp-fastopen.js';
import { tcpConnectionInfo, tcpInfo } from './tcp-info.js';
import { TE_ECN_MODE_DISABLE, TE_ECN_MODE_ENABLE } from './tcp-ecn.js';

// IPPROTO_TCP option names (bsd/netinet/tcp.h, tcp_private.h; xnu-sockets.md §1.4).
export const TCP_NODELAY = 0x01;
export const TCP_MAXSEG = 0x02;
export const TCP_NOPUSH = 0x04;
export const TCP_NOOPT = 0x08;
export const TCP_KEEPALIVE = 0x10;
export const TCP_CONNECTIONTIMEOUT = 0x20;
export const TCP_KEEPINTVL = 0x101;
export const TCP_KEEPCNT = 0x102;
export const TCP_NOTSENT_LOWAT = 0x201;
/**
 * Seconds a connection may keep probing a zero window before it is dropped, counted from the first
 * probe (XNU tcp.h PERSIST_TIMEOUT, no TCP_ prefix; tp->t_persist_timeout, 0 = no limit, initially
 * net.inet.tcp.max_persist_timeout).
 */
export const PERSIST_TIMEOUT = 0x40;
/** Seconds of retransmission after which the connection is dropped (XNU tcp.h). */
export const TCP_RXT_CONNDROPTIME = 0x80;
/** Server TCP Fast Open on a listening socket, 0 or 1 (XNU tcp.h; tcp-fastopen.ts). */
export const TCP_FASTOPEN = 0x105;
/** getsockopt only: struct tcp_connection_info (XNU tcp.h). */
export const TCP_CONNECTION_INFO = 0x106;
/** getsockopt only: struct tcp_info (XNU tcp_private.h, private API). */
export const TCP_INFO = 0x200;
/** Close instead of entering TIME_WAIT (XNU tcp_private.h). */
export const TCP_NOTIMEWAIT = 0x208;
/** Turn PMTU black-hole detection off for this connection, 0 or 1 (XNU tcp_private.h). */
export const TCP_DISABLE_BLACKHOLE_DETECTION = 0x209;
/** Force ECN on (non-zero) or off (0) for this socket, whatever the system setting (XNU tcp.h). */
export const TCP_ENABLE_ECN = 0x104;

/** UINT32_MAX / TCP_RETRANSHZ: the largest seconds value the time options accept. */
const MAX_TIME_SEC = Math.floor(0xffffffff / 1000);
const INT32_MAX = 0x7fffffff;

const sotoinpcb = (so: Socket): InPcb | null => so.so_pcb as InPcb | null;
const sototcpcb = (so: Socket): Tcpcb | null => {
  const tp = intotcpcb(sotoinpcb(so));
  return tp !== null && (tp.t_flags & TF_CLOSED) === 0 ? tp : null;
};

export class TcpUsrreqs implements PrUsrreqs {
  constructor(private readonly tcp: Tcp) {}

  /**
   * tcp_attach: default buffers (tcp_sendspace / tcp_recvspace from the profile; a child keeps
   * the sizes sonewconn inherited), auto-sizing marks, a PCB and a tcpcb in CLOSED.
   */
  pru_attach(so: Socket, _proto: number): number {
    if (so.so_pcb !== null) return EINVAL;
    const family = familyOfAf(so.so_domain);
    if (family === null) return EINVAL;
    const p = this.tcp.profile;
    if (so.so_snd.sb_hiwat === 0 || so.so_rcv.sb_hiwat === 0) {
      const e = soreserve(so, p.sendSpace, p.recvSpace);
      if (e !== 0) return e;
    }
    if (p.autoSize) {
      so.so_snd.sb_flags |= SB_AUTOSIZE;
      so.so_rcv.sb_flags |= SB_AUTOSIZE;
    }
    const pcb = this.tcp.pcbs.alloc(so, family);
    so.so_pcb = pcb;
    tcpNewTcpcb(this.tcp, pcb, so);
    return 0;
  }

  /**
   * tcp_usr_detach (close): a listener or unconnected tcpcb is freed; a connection is
   * disconnected (tcpDisconnect) and lives on without its descriptor until it is closed; one in
   * TIME_WAIT lets go of the socket.
   */
  pru_detach(so: Socket): number {
    const pcb = sotoinpcb(so);
    if (pcb === null) return EINVAL;
    const tp = intotcpcb(pcb);
    const now = this.tcp.ctx.env.clock.now();
    if (tp === null || (tp.t_flags & TF_CLOSED) !== 0) {
      so.so_pcb = null;
      return 0;
    }
    if (tp.t_state === TCPS_TIME_WAIT) {
      tcpDetachSocket(tp);
      return 0;
    }
    if (tp.t_state > TCPS_LISTEN) tcpDisconnect(this.tcp, tp, now);
    else tcpClose(this.tcp, tp);
    return 0;
  }

  /** tcp_usr_bind: sockaddr checks; multicast addresses are refused (EAFNOSUPPORT); in_pcbbind. */
  pru_bind(so: Socket, nam: Uint8Array): number {
    const pcb = sotoinpcb(so);
    if (pcb === null) return EINVAL;
    const r = decodeSockaddr(nam, so.so_domain);
    if (!r.ok) return r.error;
    if (r.value.addr.isMulticast) return EAFNOSUPPORT;
    return this.tcp.pcbs.bind(pcb, r.value.addr, r.value.port);
  }

  /** tcp_usr_listen: an ephemeral port when unbound, then LISTEN. */
  pru_listen(so: Socket): number {
    const pcb = sotoinpcb(so);
    const tp = sototcpcb(so);
    if (pcb === null || tp === null) return EINVAL;
    if (tp.t_state !== TCPS_CLOSED && tp.t_state !== TCPS_LISTEN) return EINVAL;
    if (pcb.lport === 0) {
      const e = this.tcp.pcbs.bind(pcb, null, 0);
      if (e !== 0) return e;
    }
    tp.t_state = TCPS_LISTEN;
    return 0;
  }

  /**
   * tcp_usr_connect: EAFNOSUPPORT for multicast/broadcast destinations, in_pcbconnect errors
   * (EADDRNOTAVAIL, ENETUNREACH, EADDRINUSE...), then the ISN (RFC 6528), SYN_SENT, the
   * connection-establishment timer (keep-init / TCP_CONNECTIONTIMEOUT) and the SYN.
   */
  pru_connect(so: Socket, nam: Uint8Array, now: Instant): number {
    const tcp = this.tcp;
    const pcb = sotoinpcb(so);
    const tp = sototcpcb(so);
    if (pcb === null || tp === null) return EINVAL;
    if (tp.t_state !== TCPS_CLOSED) return tp.t_state === TCPS_LISTEN ? EOPNOTSUPP : EISCONN;
    const r = decodeSockaddr(nam, so.so_domain);
    if (!r.ok) return r.error;
    // decodeSockaddr copied the address; keep a shared equal one when there is (IpAddr is immutable).
    const dst = tcpInternAddr(tcp, r.value.addr);
    if (dst.isMulticast || tcp.ip.isBroadcast(dst)) return EAFNOSUPPORT;
    const e = tcp.pcbs.connect(pcb, dst, r.value.port);
    if (e !== 0) return e;
    tp.iss = tcp.isn.isn(pcb.laddr.bytes, pcb.lport, pcb.faddr.bytes, pcb.fport, now);
    tp.ts_offset = tcp.isn.tsOffset(pcb.laddr.bytes, pcb.lport, pcb.faddr.bytes, pcb.fport);
    tp.snd_una = tp.snd_nxt = tp.snd_max = tp.snd_up = tp.snd_recover = tp.snd_highrxt = tp.iss;
    tp.request_r_scale = tcpRequestScale(tcp, so);
    tp.t_ourmss = tcpMssopt(tcp, pcb);
    soisconnecting(so);
    tcp.stats.tcps_connattempt++;
    tp.t_state = TCPS_SYN_SENT;
    tp.t_connstart = now;
    tp.t_rcvtime = now;
    tcpSetTimer(tcp, tp, TT_KEEP, now + keepInitUs(tcp, tp));
    tcpOutput(tcp, tp, now);
    return 0;
  }

  pru_disconnect(so: Socket, now: Instant): number {
    const tp = sototcpcb(so);
    if (tp === null) return EINVAL;
    tcpDisconnect(this.tcp, tp, now);
    return 0;
  }

  /**
   * tcp_usr_accept: the peer address of an accepted child; ECONNABORTED when it was already
   * reset (sock_accept ignores that result, §3.5).
   */
  pru_accept(so: Socket, nam: Box<Uint8Array | null>): number {
    nam.value = null;
    const pcb = sotoinpcb(so);
    if ((so.so_state & SS_ISDISCONNECTED) !== 0 || pcb === null) return ECONNABORTED;
    nam.value = encodeSockaddr({ addr: pcb.faddr, port: pcb.fport });
    return 0;
  }

  /**
   * tcp_usr_send: appends `m` to so_snd and runs tcp_output. MSG_OOB (PRUS_OOB) marks the end of
   * the data as urgent (snd_up, BSD convention) and forces it out. Control data is refused
   * (EINVAL). Without a tcpcb (reset meanwhile): ECONNRESET.
   */
  pru_send(so: Socket, flags: number, m: Mbuf, _addr: Uint8Array | null, control: Mbuf | null, now: Instant): number {
    const tp = sototcpcb(so);
    if (control !== null) {
      const clen = control.len;
      mFreem(control);
      if (clen > 0) {
        mFreem(m);
        return EINVAL;
      }
    }
    if (tp === null) {
      mFreem(m);
      return ECONNRESET;
    }
    const snd = so.so_snd;
    if ((flags & PRUS_OOB) !== 0) {
      if (snd.sbspace() < -512 || snd.sb_cc + (m.hasPkthdr ? m.pktLen : 0) > snd.sb_hiwat + 1024) {
        mFreem(m);
        return ENOBUFS;
      }
      snd.sbappendstream(m);
      // RFC 6093: the urgent pointer points after the last urgent byte (BSD's interpretation).
      tp.snd_up = seqAdd(tp.snd_una, snd.sb_cc);
      tp.t_flags |= TF_FORCEDATA;
      tcpOutput(this.tcp, tp, now);
      tp.t_flags &= ~TF_FORCEDATA;
      return 0;
    }
    snd.sbappendstream(m);
    tcpOutput(this.tcp, tp, now);
    return 0;
  }

  /** tcp_usr_rcvd: the application read data; a window update may be due. */
  pru_rcvd(so: Socket, _flags: number, now: Instant): number {
    const tp = sototcpcb(so);
    if (tp === null) return ECONNRESET;
    if (tp.t_state >= TCPS_ESTABLISHED) tcpOutput(this.tcp, tp, now);
    return 0;
  }

  /**
   * tcp_usr_rcvoob: the urgent byte. EINVAL when there is no mark, SO_OOBINLINE is set or the
   * byte was already read; EWOULDBLOCK when the urgent byte has not arrived yet.
   */
  pru_rcvoob(so: Socket, out: Box<number>, flags: number): number {
    const tp = sototcpcb(so);
    if (tp === null) return ECONNRESET;
    if ((so.so_oobmark === 0 && (so.so_state & SS_RCVATMARK) === 0) || (so.so_options & SO_OOBINLINE) !== 0 ||
        (tp.t_oobflags & TCPOOB_HADDATA) !== 0) {
      return EINVAL;
    }
    if ((tp.t_oobflags & TCPOOB_HAVEDATA) === 0) return EWOULDBLOCK;
    out.value = tp.t_iobc;
    if ((flags & MSG_PEEK) === 0) tp.t_oobflags ^= TCPOOB_HAVEDATA | TCPOOB_HADDATA;
    return 0;
  }

  /** tcp_usr_shutdown: CANTSENDMORE and a FIN once the queued data is out. */
  pru_shutdown(so: Socket, now: Instant): number {
    const tp = sototcpcb(so);
    socantsendmore(so);
    if (tp === null) return 0;
    tcpUsrClosed(this.tcp, tp, now);
    if ((tp.t_flags & TF_CLOSED) === 0) tcpOutput(this.tcp, tp, now);
    return 0;
  }

  /** tcp_usr_abort: drop with ECONNABORTED (a RST when synchronized). */
  pru_abort(so: Socket, now: Instant): number {
    const tp = sototcpcb(so);
    if (tp === null) {
      so.so_pcb = null;
      return 0;
    }
    tcpDrop(this.tcp, tp, ECONNABORTED, now);
    return 0;
  }

  /** in_getsockaddr */
  pru_sockaddr(so: Socket, nam: Box<Uint8Array | null>): number { return inGetsockaddr(sotoinpcb(so), nam); }

  /** in_getpeeraddr */
  pru_peeraddr(so: Socket, nam: Box<Uint8Array | null>): number { return inGetpeeraddr(sotoinpcb(so), nam); }

  pru_control(_so: Socket, _cmd: number, _data: unknown): number { return EOPNOTSUPP; }

  /**
   * tcp_notsent_lowat_check: writable only while the bytes not yet sent (so_snd minus what is in
   * flight) are at most TCP_NOTSENT_LOWAT.
   */
  pru_notsent_lowat_check(so: Socket): boolean {
    const tp = sototcpcb(so);
    if (tp === null || tp.t_notsent_lowat <= 0) return true;
    const inflight = seqSub(tp.snd_nxt, tp.snd_una);
    const notsent = so.so_snd.sb_cc - (inflight > 0 ? inflight : 0);
    return notsent <= tp.t_notsent_lowat;
  }

  /** tcp_ctloutput: ECONNRESET without a tcpcb; IP levels via ip_ctloutput; IPPROTO_TCP here. */
  pru_ctloutput(so: Socket, sopt: SockOpt): number {
    const pcb = sotoinpcb(so);
    const tp = sototcpcb(so);
    if (pcb === null || tp === null) return ECONNRESET;
    if (sopt.sopt_level === SOL_SOCKET) {
      // Told after the socket layer applied an option (the result is ignored, as in XNU).
      if (sopt.sopt_name === SO_KEEPALIVE && tp.t_state >= TCPS_ESTABLISHED) {
        const now = this.tcp.ctx.env.clock.now();
        tcpSetTimer(this.tcp, tp, TT_KEEP, now + keepIdleUs(this.tcp, tp));
      }
      return EINVAL;
    }
    if (sopt.sopt_level !== IPPROTO_TCP) return ipCtloutput(pcb, sopt);
    if (sopt.sopt_dir === SOPT_SET) return this.setopt(so, tp, sopt);
    return this.getopt(tp, sopt);
  }

  private setopt(so: Socket, tp: Tcpcb, sopt: SockOpt): number {
    const tcp = this.tcp;
    // XNU tcp_ctloutput tests the sysctl before it copies the value in.
    if (sopt.sopt_name === TCP_FASTOPEN && (tcp.profile.fastopen & TCP_FASTOPEN_SERVER) === 0) return ENOTSUP;
    const iv = { value: 0 };
    const e = sooptcopyinInt(sopt, iv);
    if (e !== 0) return e;
    const v = iv.value;
    const now = tcp.ctx.env.clock.now();
    switch (sopt.sopt_name) {
      case TCP_NODELAY:
      case TCP_NOPUSH:
      case TCP_NOOPT: {
        const bit = sopt.sopt_name === TCP_NODELAY ? TF_NODELAY : sopt.sopt_name === TCP_NOPUSH ? TF_NOPUSH : TF_NOOPT;
        if (v !== 0) tp.t_flags |= bit;
        else {
          tp.t_flags &= ~bit;
          if (bit === TF_NOPUSH && tp.t_state >= TCPS_ESTABLISHED) tcpOutput(tcp, tp, now);
        }
        return 0;
      }
      case TCP_MAXSEG: {
        // TCP_MAXSEG can only lower the MSS, and not below tcp_minmss - 40.
        if (v <= 0 || v > tp.t_maxseg || v + 40 < tcp.profile.minMss) return EINVAL;
        const ts = (tp.t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) === (TF_REQ_TSTMP | TF_RCVD_TSTMP) ? TCPOLEN_TSTAMP_APPA : 0;
        tp.t_maxseg = v;
        tp.t_maxopd = v + ts;
        tp.t_usermss = v + ts;
        return 0;
      }
      case TCP_KEEPALIVE:
        if (v < 0 || v > MAX_TIME_SEC) return EINVAL;
        tp.t_keepidle = v * 1000;
        if (tp.t_state >= TCPS_ESTABLISHED && tp.t_state <= TCPS_CLOSE_WAIT) {
          tcpSetTimer(tcp, tp, TT_KEEP, now + keepIdleUs(tcp, tp));
        }
        return 0;
      case TCP_KEEPINTVL:
        if (v < 1 || v > MAX_TIME_SEC) return EINVAL;
        tp.t_keepintvl = v * 1000;
        return 0;
      case TCP_KEEPCNT:
        if (v < 0 || v > INT32_MAX) return EINVAL;
        tp.t_keepcnt = v;
        return 0;
      case TCP_CONNECTIONTIMEOUT:
        if (v < 0 || v > MAX_TIME_SEC) return EINVAL;
        tp.t_keepinit = v * 1000;
        if (tp.t_state === TCPS_SYN_SENT || tp.t_state === TCPS_SYN_RECEIVED) {
          tcpSetTimer(tcp, tp, TT_KEEP, now + keepInitUs(tcp, tp));
        }
        return 0;
      case PERSIST_TIMEOUT:
        // XNU: optval < 0 → EINVAL; t_persist_timeout = optval * TCP_RETRANSHZ. It applies from the
        // next persist episode (tcp_setpersist sets t_persist_stop when probing starts).
        if (v < 0 || v > MAX_TIME_SEC) return EINVAL;
        tp.t_persist_timeout = v * 1000;
        return 0;
      case TCP_RXT_CONNDROPTIME:
        // XNU: optval < 0 → EINVAL; t_rxt_conndroptime = optval * TCP_RETRANSHZ.
        if (v < 0 || v > MAX_TIME_SEC) return EINVAL;
        tp.t_rxt_conndroptime = v * 1000;
        return 0;
      case TCP_NOTIMEWAIT:
        tp.t_notimewait = v !== 0;
        return 0;
      case TCP_DISABLE_BLACKHOLE_DETECTION:
        if (v < 0 || v > 1) return EINVAL;
        tcpPmtudSetDisabled(tcp, tp, v === 1, now);
        return 0;
      case TCP_FASTOPEN:
        // XNU: 0 or 1, and only once the socket listens (EINVAL before listen()).
        if (v < 0 || v > 1 || tp.t_state !== TCPS_LISTEN) return EINVAL;
        tp.t_fastopen = v === 1;
        return 0;
      case TCP_ENABLE_ECN:
        // XNU: any state, any value (non-zero enables); it takes effect at the next SYN or
        // SYN-ACK (tcp_set_ecn). Not inherited by the children of a listener.
        if (v !== 0) tp.ecn_flags = (tp.ecn_flags | TE_ECN_MODE_ENABLE) & ~TE_ECN_MODE_DISABLE;
        else tp.ecn_flags = (tp.ecn_flags | TE_ECN_MODE_DISABLE) & ~TE_ECN_MODE_ENABLE;
        return 0;
      case TCP_NOTSENT_LOWAT:
        if (v < 0) return EINVAL;
        tp.t_notsent_lowat = v;
        if (v === 0) so.so_flags &= ~SOF_NOTSENT_LOWAT;
        else so.so_flags |= SOF_NOTSENT_LOWAT;
        return 0;
      default:
        return ENOPROTOOPT;
    }
  }

  private getopt(tp: Tcpcb, sopt: SockOpt): number {
    const p = this.tcp.profile;
    switch (sopt.sopt_name) {
      case TCP_NODELAY: return sooptcopyoutInt(sopt, tp.t_flags & TF_NODELAY);
      case TCP_NOPUSH: return sooptcopyoutInt(sopt, tp.t_flags & TF_NOPUSH);
      case TCP_NOOPT: return sooptcopyoutInt(sopt, tp.t_flags & TF_NOOPT);
      case TCP_MAXSEG: return sooptcopyoutInt(sopt, tp.t_maxseg);
      case TCP_KEEPALIVE: return sooptcopyoutInt(sopt, Math.floor((tp.t_keepidle > 0 ? tp.t_keepidle : p.keepIdleMs) / 1000));
      case TCP_KEEPINTVL: return sooptcopyoutInt(sopt, Math.floor((tp.t_keepintvl > 0 ? tp.t_keepintvl : p.keepIntvlMs) / 1000));
      case TCP_KEEPCNT: return sooptcopyoutInt(sopt, tp.t_keepcnt > 0 ? tp.t_keepcnt : p.keepCnt);
      case TCP_CONNECTIONTIMEOUT: return sooptcopyoutInt(sopt, Math.floor((tp.t_keepinit > 0 ? tp.t_keepinit : p.keepInitMs) / 1000));
      case TCP_NOTSENT_LOWAT: return sooptcopyoutInt(sopt, tp.t_notsent_lowat);
      case PERSIST_TIMEOUT: return sooptcopyoutInt(sopt, Math.floor(tp.t_persist_timeout / 1000));
      case TCP_RXT_CONNDROPTIME: return sooptcopyoutInt(sopt, Math.floor(tp.t_rxt_conndroptime / 1000));
      case TCP_NOTIMEWAIT: return sooptcopyoutInt(sopt, tp.t_notimewait ? 1 : 0);
      case TCP_DISABLE_BLACKHOLE_DETECTION: return sooptcopyoutInt(sopt, tp.t_noblackhole ? 1 : 0);
      case TCP_FASTOPEN:
        if (tp.t_state !== TCPS_LISTEN || (p.fastopen & TCP_FASTOPEN_SERVER) === 0) return ENOTSUP;
        return sooptcopyoutInt(sopt, tp.t_fastopen ? 1 : 0);
      // XNU: 1 only when the socket forced ECN on (a socket left to the system setting reads 0).
      case TCP_ENABLE_ECN: return sooptcopyoutInt(sopt, (tp.ecn_flags & TE_ECN_MODE_ENABLE) !== 0 ? 1 : 0);
      // XNU: sooptcopyout(sopt, &tci, sizeof(struct tcp_connection_info)) — a shorter buffer gets
      // the leading bytes (sopt_valsize says how many), as for every getsockopt.
      case TCP_CONNECTION_INFO: return sooptcopyout(sopt, tcpConnectionInfo(tp));
      // XNU: sooptcopyout(sopt, &ti, sizeof(struct tcp_info)), the same truncation. Setting it falls
      // to the default ENOPROTOOPT (tcp_ctloutput has no SOPT_SET case for it).
      case TCP_INFO: return sooptcopyout(sopt, tcpInfo(tp));
      default: return ENOPROTOOPT;
    }
  }
}

/**
 * tcp_disconnect (§7.1), in XNU's order: unread data (in so_rcv or the reassembly queue) → RST
 * (tcp_drop with no error; a TFO child accepted in SYN_RECEIVED can have some); before
 * ESTABLISHED the tcpcb is just closed; SO_LINGER with linger 0 → RST; otherwise the socket is
 * disconnecting, its receive buffer flushed, and a FIN follows (tcpUsrClosed).
 */
export function tcpDisconnect(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  const so = tp.so;
  if (so !== null && (so.so_rcv.sb_cc > 0 || !tcpReassEmpty(tp))) {
    tcpDrop(tcp, tp, 0, now);
    return;
  }
  if (tp.t_state < TCPS_ESTABLISHED) {
    tcpClose(tcp, tp);
    return;
  }
  if (so !== null && (so.so_options & SO_LINGER) !== 0 && so.so_linger === 0) {
    tcpDrop(tcp, tp, 0, now);
    return;
  }
  if (so !== null) {
    soisdisconnecting(so);
    so.so_rcv.sbflush();
  }
  tcpUsrClosed(tcp, tp, now);
  if ((tp.t_flags & TF_CLOSED) === 0) tcpOutput(tcp, tp, now);
}

/**
 * tcp_usrclosed: the user will send no more. CLOSED/LISTEN/SYN_SENT close at once;
 * SYN_RECEIVED sends its FIN once established (TF_NEEDFIN); ESTABLISHED → FIN_WAIT_1;
 * CLOSE_WAIT → LAST_ACK. From FIN_WAIT_2 on, the socket is disconnected and the FIN_WAIT_2 timer
 * guards a silent peer.
 */
export function tcpUsrClosed(tcp: Tcp, tp: Tcpcb, now: Instant): void {
  switch (tp.t_state) {
    case TCPS_CLOSED:
    case TCPS_LISTEN:
    case TCPS_SYN_SENT:
      tcpClose(tcp, tp);
      return;
    case TCPS_SYN_RECEIVED:
      tp.t_flags |= TF_NEEDFIN;
      break;
    case TCPS_ESTABLISHED:
      tp.t_state = TCPS_FIN_WAIT_1;
      break;
    case TCPS_CLOSE_WAIT:
      tp.t_state = TCPS_LAST_ACK;
      break;
  }
  if (tp.t_state >= TCPS_FIN_WAIT_2 && tp.so !== null) {
    soisdisconnected(tp.so);
    if (tp.t_state === TCPS_FIN_WAIT_2) tcpSetTimer(tcp, tp, TT_2MSL, now + tcp.profile.finWait2TimeoutMs * 1000);
  }
}

/** For tests: the tcpcb of a socket (null once closed). */
export const tcpcbOf = (so: Socket): Tcpcb | null => sototcpcb(so);
