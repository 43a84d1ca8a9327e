// Shared plumbing of the TCP scenario suites (test/tcp-sim): the seed, the two-host world with an
// optional TcpProfile, socket helpers (addresses, options), and the ONE place that peeks below the
// socket layer (the tcpcb of a socket, the TCP counters, the PCB count). Everything else in these
// suites talks to TCP only through stack/socket, as an application would.

import { buildSimWorld } from '../../tools/sim-world.js';
import type { SimHost, SimWorld } from '../../tools/sim-world.js';
import type { Impairments } from '../../stack/link/sim-network.js';
import type { LinkCaps } from '../../stack/link/link.js';
import { Stack } from '../../stack/stack.js';
import type { MbufPoolLimits } from '../../stack/mbuf/index.js';
import type { Socket } from '../../stack/socket/socket.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import { SockOpt, sooptInt, sooptLinger, readInt } from '../../stack/socket/sockopt.js';
import { sogetopt, sosetopt } from '../../stack/socket/so-options.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, SOCK_STREAM, SOL_SOCKET, SO_ERROR, SO_LINGER,
} from '../../stack/socket/constants.js';
import type { IpAddr, IpFamily } from '../../stack/wire/ip-addr.js';
import { XNU_PROFILE, withProfile, tcpStateNames, tcpcbOf as coreTcpcbOf } from '../../stack/tcp/index.js';
import type { TcpProfile, TcpStats, Tcpcb } from '../../stack/tcp/index.js';
import { TCPS_ESTABLISHED, TCPS_TIME_WAIT } from '../../stack/tcp/tcp-fsm.js';
import { TT_PERSIST, TT_REXMT } from '../../stack/tcp/tcp-var.js';

/** Base seed of every randomized test here; SIM_SEED=n replays a run (each test prints its seed). */
export const BASE_SEED = Number(process.env.SIM_SEED ?? 20261121);
/** TUNSTACK_SOAK=1 turns on the large soak variants. */
export const SOAK = process.env.TUNSTACK_SOAK === '1' || process.env.TUNSTACK_SOAK === 'true';

// IPPROTO_TCP option names as the core exports them (Darwin values, checked in lifecycle.test.ts).
export {
  TCP_NODELAY, TCP_MAXSEG, TCP_KEEPALIVE, TCP_CONNECTIONTIMEOUT, TCP_KEEPINTVL, TCP_KEEPCNT,
} from '../../stack/tcp/index.js';

/** A profile with short timers for lifecycle tests: MSL 500 ms (TIME_WAIT 1 s). */
export const FAST_PROFILE: TcpProfile = withProfile(XNU_PROFILE, { name: 'xnu-fast-msl', mslMs: 500 });

export interface TcpWorldOptions {
  readonly seed: number;
  readonly impairments?: Impairments;
  readonly mtu?: number;
  readonly caps?: Partial<LinkCaps>;
  /** Installed on both stacks (see setTcpProfile). */
  readonly profile?: TcpProfile;
  /** Mbuf pool limits per host. */
  readonly poolLimits?: { readonly a?: Partial<MbufPoolLimits>; readonly b?: Partial<MbufPoolLimits> };
}

/** buildSimWorld with, when asked, a TcpProfile on both stacks and per-host mbuf pool limits. */
export function tcpWorld(o: TcpWorldOptions): SimWorld {
  return buildSimWorld({
    seed: o.seed, impairments: o.impairments, mtu: o.mtu, caps: o.caps,
    ...(o.profile !== undefined ? { tcpProfile: o.profile } : {}),
    ...(o.poolLimits !== undefined ? { poolLimits: o.poolLimits } : {}),
  });
}

// ---- the peek helper: everything below the socket layer goes through these functions ----

/** Installs `p` as the stack's TCP profile (sysctl-style: applies from now on). */
export function setTcpProfile(stack: Stack, p: TcpProfile): void {
  stack.tcp.setProfile(p);
}

/** The tcps_* counters (tcpstat) of a stack's TCP, by name. */
export function tcpStats(stack: Stack): Record<string, number> {
  return stack.tcp.stats as unknown as Record<string, number>;
}

/** One tcps_* counter. */
export function stat(stack: Stack, name: keyof TcpStats): number {
  return stack.tcp.stats[name];
}

export type TcpcbLike = Tcpcb;

/** The tcpcb behind a socket (so_pcb → inpcb → ppcb), or null once detached. */
export function tcpcbOf(so: Socket): Tcpcb | null {
  return coreTcpcbOf(so);
}

/** The state name of a tcpcb ('CLOSED' for null). */
export function stateName(tp: Tcpcb | null): string {
  return tp === null ? 'CLOSED' : tcpStateNames[tp.t_state] ?? `state ${tp.t_state}`;
}

/**
 * A send side that can never move again: unsent data, nothing in flight, and neither the
 * retransmission nor the persist timer armed (RFC 9293 §3.8.6.1: a zero window must be probed).
 * Returns a description, or null when the tcpcb is fine.
 */
export function stalledSender(so: Socket): string | null {
  const tp = tcpcbOf(so);
  if (tp === null || tp.t_state < TCPS_ESTABLISHED || tp.t_state === TCPS_TIME_WAIT) return null;
  const inFlight = (tp.snd_max - tp.snd_una) >>> 0;
  const unsent = so.so_snd.sb_cc - inFlight;
  if (unsent <= 0 || inFlight !== 0) return null;
  if (tp.t_timer[TT_REXMT] !== 0 || tp.t_timer[TT_PERSIST] !== 0) return null;
  return `${stateName(tp)}: ${unsent} bytes unsent, nothing in flight, snd_wnd ${tp.snd_wnd}, no REXMT/PERSIST timer`;
}

/** How many TCP PCBs the stack holds (connections, listeners, TIME_WAIT). */
export function tcpPcbCount(stack: Stack): number {
  return stack.tcp.pcbs.size;
}

// ---- sockets ----

export const afOfFamily = (f: IpFamily): number => (f === 4 ? AF_INET : AF_INET6);

export function addrOf(h: SimHost, family: IpFamily): IpAddr { return family === 4 ? h.v4 : h.v6; }

export function sa(h: SimHost, family: IpFamily, port: number): Uint8Array {
  return encodeSockaddr({ addr: addrOf(h, family), port });
}

/** A new TCP socket on `stack`; throws with the errno when socreate fails. */
export function tcpSocket(stack: Stack, family: IpFamily): Socket {
  const r = stack.sockets.socreate(afOfFamily(family), SOCK_STREAM, IPPROTO_TCP);
  if (!r.ok) throw new Error(`socreate(SOCK_STREAM) on ${stack.name}: errno ${r.error}`);
  return r.value;
}

export function setInt(so: Socket, level: number, name: number, v: number): number {
  return sosetopt(so, SockOpt.set(level, name, sooptInt(v)));
}

export function getInt(so: Socket, level: number, name: number): { error: number; value: number } {
  const o = SockOpt.get(level, name, 4);
  const error = sogetopt(so, o);
  return { error, value: o.sopt_valsize >= 4 ? readInt(o.result(), 0) : 0 };
}

/** SO_LINGER with l_linger in ticks (1/100 s): (1, 0) is the abortive close. */
export function setLinger(so: Socket, onoff: number, ticks: number): number {
  return sosetopt(so, SockOpt.set(SOL_SOCKET, SO_LINGER, sooptLinger(onoff, ticks)));
}

/** getsockopt(SO_ERROR): reads and clears so_error. */
export function takeSoError(so: Socket): number {
  return getInt(so, SOL_SOCKET, SO_ERROR).value;
}

export const setTcpInt = (so: Socket, name: number, v: number): number => setInt(so, IPPROTO_TCP, name, v);

/** Virtual ms since the simulation's origin. */
export const ms = (w: SimWorld): number => w.sim.now / 1000;

/** "a: tcps_x=1 ..." for failure messages: the counters of both stacks that are non-zero. */
export function countersSummary(w: SimWorld): string {
  const out: string[] = [];
  for (const h of [w.a, w.b]) {
    const s = tcpStats(h.stack);
    const nz = Object.entries(s).filter(([, v]) => typeof v === 'number' && v !== 0).map(([k, v]) => `${k}=${v}`);
    out.push(`${h.name}: ${nz.join(' ')}`);
  }
  return out.join('\n');
}
