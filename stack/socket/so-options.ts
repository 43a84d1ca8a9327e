// Socket options (bsd/kern/uipc_socket.c sosetoptlock/sogetoptlock, §6.1): SOL_SOCKET is handled
// here, other levels go to the protocol's pru_ctloutput. Values are raw bytes (sockopt.ts).
// Surprises kept: boolean getters return the raw option bit (SO_KEEPALIVE → 8), SO_ERROR reads
// and clears, SO_LINGER is in ticks and SO_LINGER_SEC in seconds, SO_ACCEPTCONN is not gettable,
// every setsockopt fails with EINVAL once both directions are shut.

import type { Socket } from './socket.js';
import { sorwakeup, sowwakeup } from './socket.js';
import { PR_ATOMIC } from './protosw.js';
import type { SockOpt } from './sockopt.js';
import {
  LINGER_LEN, TIMEVAL_LEN, readInt, readTimeval, sooptcopyin, sooptcopyinInt, sooptcopyout,
  sooptcopyoutInt, sooptLinger, sooptTimeval, writeInt,
} from './sockopt.js';
import {
  HZ, SB_AUTOSIZE, SB_USRSIZE, SOF_BINDRANDOMPORT, SOF_NOADDRAVAIL, SOF_NOSIGPIPE,
  SOF_NOTIFYCONFLICT, SOF_NPX_SETOPTSHUT, SOF_REUSESHAREUID, SOF_UPCALLCLOSEWAIT, SOL_SOCKET,
  SONPX_MASK_VALID, SONPX_SETOPTSHUT, SO_BROADCAST, SO_DEBUG, SO_DONTROUTE, SO_DONTTRUNC, SO_ERROR,
  SO_KEEPALIVE, SO_LINGER, SO_LINGER_SEC, SO_NOADDRERR, SO_NOSIGPIPE, SO_NOTIFYCONFLICT,
  SO_NOWAKEFROMSLEEP, SO_NP_EXTENSIONS, SO_NREAD, SO_NUMRCVPKT, SO_NWRITE, SO_OOBINLINE,
  SO_RANDOMPORT, SO_RCVBUF, SO_RCVLOWAT, SO_RCVTIMEO, SO_REUSEADDR, SO_REUSEPORT,
  SO_REUSESHAREUID, SO_SNDBUF, SO_SNDLOWAT, SO_SNDTIMEO, SO_TIMESTAMP, SO_TIMESTAMP_MONOTONIC,
  SO_TYPE, SO_UPCALLCLOSEWAIT, SO_USELOOPBACK, SO_WANTMORE, SO_WANTOOBFLAG, SS_CANTRCVMORE,
  SS_CANTSENDMORE,
} from './constants.js';
import { EDOM, EINVAL, ENOBUFS, ENOPROTOOPT } from './errno.js';

/** LONG_MAX / hz: the largest tv_sec sooptcopyin_timeval accepts. */
const MAX_TV_SEC = Number.MAX_SAFE_INTEGER / HZ;

/** SO_* options stored as bits of so_options and returned raw (§6.1). */
function isBooleanOption(name: number): boolean {
  switch (name) {
    case SO_DEBUG: case SO_KEEPALIVE: case SO_DONTROUTE: case SO_USELOOPBACK: case SO_BROADCAST:
    case SO_REUSEADDR: case SO_REUSEPORT: case SO_OOBINLINE: case SO_TIMESTAMP:
    case SO_TIMESTAMP_MONOTONIC: case SO_DONTTRUNC: case SO_WANTMORE: case SO_WANTOOBFLAG:
    case SO_NOWAKEFROMSLEEP:
      return true;
    default:
      return false;
  }
}

/** SO_* options stored as so_flags bits: [option, flag]. */
function flagOf(name: number): number {
  switch (name) {
    case SO_NOSIGPIPE: return SOF_NOSIGPIPE;
    case SO_NOADDRERR: return SOF_NOADDRAVAIL;
    case SO_REUSESHAREUID: return SOF_REUSESHAREUID;
    case SO_NOTIFYCONFLICT: return SOF_NOTIFYCONFLICT;
    case SO_UPCALLCLOSEWAIT: return SOF_UPCALLCLOSEWAIT;
    case SO_RANDOMPORT: return SOF_BINDRANDOMPORT;
    default: return 0;
  }
}

/**
 * sosetopt. EINVAL once CANTRCVMORE and CANTSENDMORE are both set (unless SO_NP_EXTENSIONS
 * allowed it), a value shorter than required, or SO_SNDBUF/RCVBUF/SNDLOWAT/RCVLOWAT < 1;
 * ENOBUFS for a buffer above sb_max; EDOM for a timeval out of range; ENOPROTOOPT for an unknown
 * SOL_SOCKET name. After a successful SOL_SOCKET set, the protocol's ctloutput sees the option
 * too and its answer is ignored, as in XNU.
 */
export function sosetopt(so: Socket, sopt: SockOpt): number {
  if ((so.so_state & (SS_CANTRCVMORE | SS_CANTSENDMORE)) === (SS_CANTRCVMORE | SS_CANTSENDMORE) &&
      (so.so_flags & SOF_NPX_SETOPTSHUT) === 0) {
    return EINVAL;
  }
  if (sopt.sopt_val === null) return EINVAL;
  if (sopt.sopt_level !== SOL_SOCKET) return so.so_proto.pr_usrreqs.pru_ctloutput(so, sopt);
  const e = sosetoptSocket(so, sopt);
  if (e === 0) so.so_proto.pr_usrreqs.pru_ctloutput(so, sopt);
  return e;
}

function sosetoptSocket(so: Socket, sopt: SockOpt): number {
  const name = sopt.sopt_name;
  const iv = { value: 0 };
  const bv = { value: new Uint8Array(0) };
  if (isBooleanOption(name)) {
    const e = sooptcopyinInt(sopt, iv);
    if (e !== 0) return e;
    if (iv.value !== 0) so.so_options |= name;
    else so.so_options &= ~name;
    return 0;
  }
  const flag = flagOf(name);
  if (flag !== 0) {
    const e = sooptcopyinInt(sopt, iv);
    if (e !== 0) return e;
    if (iv.value !== 0) so.so_flags |= flag;
    else so.so_flags &= ~flag;
    return 0;
  }
  switch (name) {
    case SO_LINGER:
    case SO_LINGER_SEC: {
      const e = sooptcopyin(sopt, LINGER_LEN, LINGER_LEN, bv);
      if (e !== 0) return e;
      const onoff = readInt(bv.value, 0);
      const linger = readInt(bv.value, 4);
      // so_linger is a C short: the value is truncated to 16 bits, as XNU's cast does.
      const ticks = name === SO_LINGER ? linger : linger * HZ;
      so.so_linger = (ticks << 16) >> 16;
      if (onoff !== 0) so.so_options |= SO_LINGER;
      else so.so_options &= ~SO_LINGER;
      return 0;
    }
    case SO_SNDBUF:
    case SO_RCVBUF:
    case SO_SNDLOWAT:
    case SO_RCVLOWAT: {
      const e = sooptcopyinInt(sopt, iv);
      if (e !== 0) return e;
      const v = iv.value;
      if (v < 1) return EINVAL;
      if (name === SO_SNDBUF || name === SO_RCVBUF) {
        const sb = name === SO_SNDBUF ? so.so_snd : so.so_rcv;
        if (!sb.sbreserve(v, so.layer.sbMax)) return ENOBUFS;
        sb.sb_flags |= SB_USRSIZE;
        sb.sb_flags &= ~SB_AUTOSIZE;
        sb.sb_idealsize = v;
        return 0;
      }
      if (name === SO_SNDLOWAT) {
        const snd = so.so_snd;
        snd.sb_lowat = v > snd.sb_hiwat ? snd.sb_hiwat : v;
        if (snd.sbspace() >= snd.sb_lowat) sowwakeup(so);
        return 0;
      }
      const rcv = so.so_rcv;
      rcv.sb_lowat = v > rcv.sb_hiwat ? rcv.sb_hiwat : v;
      if (rcv.sb_cc - rcv.sb_ctl >= rcv.sb_lowat) sorwakeup(so);
      return 0;
    }
    case SO_SNDTIMEO:
    case SO_RCVTIMEO: {
      const e = sooptcopyin(sopt, TIMEVAL_LEN, TIMEVAL_LEN, bv);
      if (e !== 0) return e;
      const tv = readTimeval(bv.value);
      if (tv.sec < 0 || tv.sec > MAX_TV_SEC || tv.usec < 0 || tv.usec >= 1_000_000) return EDOM;
      const sb = name === SO_SNDTIMEO ? so.so_snd : so.so_rcv;
      sb.sb_timeo = tv.sec * 1_000_000 + tv.usec;
      return 0;
    }
    case SO_NP_EXTENSIONS: {
      const e = sooptcopyin(sopt, 8, 8, bv);
      if (e !== 0) return e;
      const flags = readInt(bv.value, 0) >>> 0;
      const mask = readInt(bv.value, 4) >>> 0;
      if ((mask & ~SONPX_MASK_VALID) !== 0) return EINVAL;
      if ((mask & SONPX_SETOPTSHUT) !== 0) {
        if ((flags & SONPX_SETOPTSHUT) !== 0) so.so_flags |= SOF_NPX_SETOPTSHUT;
        else so.so_flags &= ~SOF_NPX_SETOPTSHUT;
      }
      return 0;
    }
    default:
      return ENOPROTOOPT;
  }
}

/**
 * sogetopt. The value is written into sopt_val, truncated silently to sopt_valsize, which is set
 * to the bytes copied. Other levels go to the protocol. ENOPROTOOPT for unknown names, for
 * SO_ACCEPTCONN (not gettable on Darwin) and SO_NUMRCVPKT on a stream socket.
 */
export function sogetopt(so: Socket, sopt: SockOpt): number {
  if (sopt.sopt_level !== SOL_SOCKET) return so.so_proto.pr_usrreqs.pru_ctloutput(so, sopt);
  const name = sopt.sopt_name;
  if (isBooleanOption(name)) return sooptcopyoutInt(sopt, so.so_options & name);
  const flag = flagOf(name);
  if (flag !== 0) return sooptcopyoutInt(sopt, so.so_flags & flag);
  switch (name) {
    case SO_LINGER:
    case SO_LINGER_SEC: {
      const linger = name === SO_LINGER ? so.so_linger : Math.trunc(so.so_linger / HZ);
      return sooptcopyout(sopt, sooptLinger(so.so_options & SO_LINGER, linger));
    }
    case SO_TYPE:
      return sooptcopyoutInt(sopt, so.so_type);
    case SO_NREAD:
      if ((so.so_proto.pr_flags & PR_ATOMIC) !== 0) return sooptcopyoutInt(sopt, so.so_rcv.firstRecordDataLen());
      return sooptcopyoutInt(sopt, so.so_rcv.sb_cc - so.so_rcv.sb_ctl);
    case SO_NUMRCVPKT:
      if ((so.so_proto.pr_flags & PR_ATOMIC) === 0) return ENOPROTOOPT;
      return sooptcopyoutInt(sopt, so.so_rcv.recordCount());
    case SO_NWRITE:
      return sooptcopyoutInt(sopt, so.so_snd.sb_cc);
    case SO_ERROR: {
      const e = so.so_error;
      so.so_error = 0;
      return sooptcopyoutInt(sopt, e);
    }
    case SO_SNDBUF:
      return sooptcopyoutInt(sopt, so.so_snd.sb_hiwat);
    case SO_RCVBUF:
      return sooptcopyoutInt(sopt, so.so_rcv.sb_hiwat);
    case SO_SNDLOWAT:
      return sooptcopyoutInt(sopt, so.so_snd.sb_lowat);
    case SO_RCVLOWAT:
      return sooptcopyoutInt(sopt, so.so_rcv.sb_lowat);
    case SO_SNDTIMEO:
    case SO_RCVTIMEO: {
      const t = name === SO_SNDTIMEO ? so.so_snd.sb_timeo : so.so_rcv.sb_timeo;
      return sooptcopyout(sopt, sooptTimeval(Math.trunc(t / 1_000_000), t % 1_000_000));
    }
    case SO_NP_EXTENSIONS: {
      const b = new Uint8Array(8);
      writeInt(b, 0, (so.so_flags & SOF_NPX_SETOPTSHUT) !== 0 ? SONPX_SETOPTSHUT : 0);
      writeInt(b, 4, SONPX_MASK_VALID);
      return sooptcopyout(sopt, b);
    }
    default:
      return ENOPROTOOPT;
  }
}
