// What the fuzzer aims at and what it hit: a snapshot of both stacks' live TCP control blocks
// (4-tuple, state, sequence space, window, timestamps), TCP listeners and bound UDP sockets, and
// the judgement of whether a forged segment, as it arrives, may act on the connection it reaches.
// With storm-breaker.ts, this is where the fuzzer reads below the socket layer; the generators
// only see the plain records.

import type { Stack } from '../../stack/stack.js';
import type { Tcpcb } from '../../stack/tcp/index.js';
import { TCPS_CLOSE_WAIT, TCPS_ESTABLISHED, TCPS_LISTEN, TCPS_TIME_WAIT } from '../../stack/tcp/tcp-fsm.js';
import { tcpTsval } from '../../stack/tcp/tcp-subr.js';
import { TF_RCVD_TSTMP, TF_SACK_PERMIT } from '../../stack/tcp/tcp-var.js';
import { SS_NOFDREF } from '../../stack/socket/constants.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { layoutOf, tupleKey } from './packet-layout.js';
import { get16, get32, IPPROTO_TCP } from './wire-build.js';
import type { Family } from './wire-build.js';

export type HostName = 'a' | 'b';

/** One end of a TCP connection, seen from the stack that owns it. */
export interface ConnTarget {
  readonly host: HostName;
  readonly family: Family;
  readonly local: Uint8Array;
  readonly lport: number;
  readonly remote: Uint8Array;
  readonly rport: number;
  readonly state: number;
  readonly iss: number;
  readonly irs: number;
  readonly sndUna: number;
  readonly sndNxt: number;
  readonly sndMax: number;
  readonly sndWnd: number;
  readonly rcvNxt: number;
  readonly rcvWnd: number;
  /** The most recent TSval we took from the peer, and what we would send now (for TSecr). */
  readonly tsRecent: number;
  readonly tsNow: number;
  readonly timestamps: boolean;
  readonly sack: boolean;
  readonly maxseg: number;
}

export interface PortTarget {
  readonly host: HostName;
  readonly family: Family;
  readonly addr: Uint8Array;
  readonly port: number;
}

export interface Targets {
  readonly conns: readonly ConnTarget[];
  readonly listeners: readonly PortTarget[];
  readonly udp: readonly PortTarget[];
}

/** The live TCP and UDP endpoints of both hosts at `now`. */
export function snapshotTargets(hosts: readonly { readonly name: HostName; readonly stack: Stack; readonly v4: Uint8Array; readonly v6: Uint8Array }[], now: number): Targets {
  const conns: ConnTarget[] = [], listeners: PortTarget[] = [], udp: PortTarget[] = [];
  for (const h of hosts) {
    for (const pcb of h.stack.tcp.pcbs.pcbs()) {
      const tp = pcb.ppcb as Tcpcb | null;
      if (tp === null || pcb.lport === 0) continue;
      const family = pcb.family;
      if (tp.t_state === TCPS_LISTEN || pcb.faddrAny) {
        listeners.push({ host: h.name, family, addr: pcb.laddrAny ? (family === 4 ? h.v4 : h.v6) : pcb.laddr.bytes, port: pcb.lport });
        continue;
      }
      conns.push({
        host: h.name, family, local: pcb.laddr.bytes, lport: pcb.lport, remote: pcb.faddr.bytes, rport: pcb.fport,
        state: tp.t_state, iss: tp.iss, irs: tp.irs, sndUna: tp.snd_una, sndNxt: tp.snd_nxt, sndMax: tp.snd_max,
        sndWnd: tp.snd_wnd, rcvNxt: tp.rcv_nxt, rcvWnd: tp.rcv_wnd, tsRecent: tp.ts_recent, tsNow: tcpTsval(tp, now),
        timestamps: (tp.t_flags & TF_RCVD_TSTMP) !== 0, sack: (tp.t_flags & TF_SACK_PERMIT) !== 0, maxseg: tp.t_maxseg,
      });
    }
    for (const pcb of h.stack.udp.pcbs.pcbs()) {
      if (pcb.lport === 0) continue;
      const family = pcb.family;
      udp.push({ host: h.name, family, addr: pcb.laddrAny ? (family === 4 ? h.v4 : h.v6) : pcb.laddr.bytes, port: pcb.lport });
    }
  }
  return { conns, listeners, udp };
}

/**
 * Decides, when a forged TCP segment reaches `stack` (IP packet `p`), whether the connection it
 * lands on may legitimately be disturbed by it, judging by that connection's state at this very
 * moment; returns the connection's 4-tuple key then, else null. May be disturbed: a segment to a
 * listener or a closed port (it may open a connection on that 4-tuple), any segment before the
 * connection is established, a segment within 2^20 of the receive window (a RST or SYN there may
 * reset, data or FIN there is accepted, an ACK on it is processed), a SYN in TIME_WAIT (a new
 * incarnation), and data of any sequence number once the application closed the socket and the
 * connection is past CLOSE_WAIT (BSD and XNU tcp_input answer that with a RST before trimming to
 * the window: tcps_rcvafterclose). Anything else may only draw an ACK.
 */
export function tcpSegmentMayAct(stack: Stack, p: Uint8Array): string | null {
  const l = layoutOf(p);
  if (l === null || l.fragment || l.proto !== IPPROTO_TCP || l.l4Len < 20) return null;
  const t = l.l4Off;
  const sport = get16(p, t), dport = get16(p, t + 2);
  const key = tupleKey(l.family, IPPROTO_TCP, l.src, sport, l.dst, dport);
  const len = l.family === 4 ? 4 : 16;
  const pcb = stack.tcp.pcbs.lookup(IpAddr.fromBytes(l.src, 0, len), sport, IpAddr.fromBytes(l.dst, 0, len), dport, false, 0);
  const tp = pcb === null ? null : (pcb.ppcb as Tcpcb | null);
  if (tp === null || tp.t_state < TCPS_ESTABLISHED) return key;
  const flags = p[t + 13]!;
  const doff = (p[t + 12]! >>> 4) * 4;
  const tlen = doff >= 20 && doff <= l.l4Len ? l.l4Len - doff : 0;
  const d = (get32(p, t + 4) - tp.rcv_nxt) | 0;
  const wnd = Math.max(tp.rcv_wnd, 1);
  if (d > -NEAR_WINDOW && d < wnd + NEAR_WINDOW) return key;
  if (tp.t_state === TCPS_TIME_WAIT && (flags & 0x02) !== 0) return key;
  const so = tp.so;
  if (tlen > 0 && tp.t_state > TCPS_CLOSE_WAIT && (so === null || (so.so_state & SS_NOFDREF) !== 0)) return key;
  return null;
}

/** How far outside the receive window a segment still counts as near it (sequence numbers). */
const NEAR_WINDOW = 1 << 20;
