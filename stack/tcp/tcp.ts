// Tcp: the TCP protocol object of one stack (XNU's tcbinfo + tcp protosw + the tcp_* globals).
// Owns the PCB table, the counters, the profile, the ISN generator and the per-stack scratch
// objects the hot path reuses (no allocation per segment).
//
// ingress: ip input → Tcp.input → tcp-input.ts (validate, lookup) → tcp-input-listen.ts (LISTEN),
//          tcp-input-synsent.ts (SYN_SENT), tcp-input-sync.ts (RFC 9293 §3.10.7.4 checks, ACK),
//          tcp-input-data.ts (data, reassembly, FIN, urgent) → tcp-output.ts
// errors:  ICMP → Tcp.ctlinput → tcp-subr.ts tcpCtlinput (RFC 5927, PMTU)
// egress:  sosend → TcpUsrreqs.pru_send → tcp-output.ts → tcp-output-seg.ts → IpOutput.output
// timers:  TimerQueue → Tcpcb.onTimer → Tcp.tcpTimer → tcp-timers.ts

import type { StackContext } from '../context.js';
import type { Mbuf } from '../mbuf/mbuf.js';
import type { Instant } from '../time/instant.js';
import type { IpCtlInfo, IpInputInfo, IpOutput, IpOutputParams, IpProtocol } from '../ip/protocol.js';
import { IpAddr } from '../wire/ip-addr.js';
import { InPcbTable } from '../inpcb/in-pcb.js';
import type { InPcbTableOptions } from '../inpcb/in-pcb.js';
import type { SocketLayer } from '../socket/socket-layer.js';
import type { Protosw } from '../socket/protosw.js';
import { PR_CONNREQUIRED, PR_WANTRCVD } from '../socket/protosw.js';
import { AF_INET, AF_INET6, IPPROTO_TCP, SOCK_STREAM } from '../socket/constants.js';
import { ChecksumAccumulator } from '../wire/checksum.js';
import { TcpView } from '../wire/tcp.js';
import { TcpOptionsScratch } from '../wire/tcp-options.js';
import type { TcpProfile } from './tcp-profile.js';
import { XNU_PROFILE } from './tcp-profile.js';
import { TcpStats } from './tcp-stats.js';
import type { Tcpcb, TcpcbOwner } from './tcp-var.js';
import { IsnGenerator } from './tcp-isn.js';
import { TfoServer } from './tcp-fastopen.js';
import { TcpUsrreqs } from './tcp-usrreq.js';
import { TcpInputCtx, tcpInput } from './tcp-input.js';
import { tcpTimers } from './tcp-timers.js';
import { tcpCtlinput } from './tcp-subr.js';

export interface TcpOptions {
  /** Kernel profile: every constant and policy (default XNU_PROFILE). */
  readonly profile?: TcpProfile;
  /** Ephemeral port range of the TCP PCB table. */
  readonly pcb?: InPcbTableOptions;
}

/**
 * The offload capabilities of the link a destination is reached through. IpOutput has no such
 * query; the Stack provides this from its IpLayer (route → interface → link caps).
 */

export class Tcp implements IpProtocol, TcpcbOwner {
  readonly stats = new TcpStats();
  /** The kernel profile: every constant and policy. Read live, so setProfile applies from the next event. */
  readonly profile: TcpProfile;
  /**
   * IpProtocol: tcpCtlinput checks the quoted sequence number (RFC 5927 §4.1) before a
   * needfrag / packet-too-big lowers the path MTU, so IP leaves that update to it.
   */
  readonly validatesIcmpErrors = true;
  /** tcbinfo: every TCP PCB, IPv4 and IPv6, listeners, connections and TIME_WAIT. */
  readonly pcbs: InPcbTable;
  readonly usrreqs: TcpUsrreqs;
  readonly protosw4: Protosw;
  readonly protosw6: Protosw;
  readonly isn: IsnGenerator;
  /** TCP Fast Open server state: the cookie key (drawn at first use) and tcp_tfo_halfcnt. */
  readonly tfo: TfoServer;

  // ---- stack-wide state (no module-level state: two stacks never share these) ----
  /** mbstat drops seen at the last tcp_drain check (a change means the pool ran short). */
  poolDropsSeen = 0;
  /** badport_bandlim: RSTs answered in the current one-second window, and its start (µs). */
  rstCount = 0;
  rstWindowStart: Instant = -1;

  // ---- per-stack scratch, reused for every segment ----
  /** @internal */ readonly view = new TcpView();
  /** @internal */ readonly optScratch = new TcpOptionsScratch();
  /** @internal */ readonly acc = new ChecksumAccumulator();
  /** @internal */ readonly inp = new TcpInputCtx();
  /** @internal */ readonly optBuf = new Uint8Array(40);
  /** @internal */ readonly sackOut = new Uint32Array(8);
  /**
   * @internal Recently seen connection addresses (tcpInternAddr): IpAddr is immutable, so every
   * connection with the same peer or local address shares one object instead of a copy each.
   */
  readonly addrCache: (IpAddr | null)[] = [null, null, null, null];
  /** @internal */ addrCacheNext = 0;
  /** @internal Reused for every IP output call (IP reads it synchronously). */
  readonly oparams: IpOutputParams = {
    src: IpAddr.ANY4, dst: IpAddr.ANY4, protocol: IPPROTO_TCP, ttl: 0, tos: 0, dontFrag: true,
    allowBroadcast: false, ifscope: 0,
  };

  constructor(
    readonly ctx: StackContext,
    readonly sockets: SocketLayer,
    readonly ip: IpOutput,
    opts: TcpOptions = {},
  ) {
    this.profile = opts.profile ?? XNU_PROFILE;
    this.pcbs = new InPcbTable(IPPROTO_TCP, ctx.env.rng, ip, opts.pcb);
    this.isn = new IsnGenerator(ctx.env.rng);
    this.tfo = new TfoServer(ctx.env.rng);
    this.usrreqs = new TcpUsrreqs(this);
    const flags = PR_CONNREQUIRED | PR_WANTRCVD;
    this.protosw4 = { pr_type: SOCK_STREAM, pr_domain: AF_INET, pr_protocol: IPPROTO_TCP, pr_flags: flags, pr_usrreqs: this.usrreqs };
    this.protosw6 = { pr_type: SOCK_STREAM, pr_domain: AF_INET6, pr_protocol: IPPROTO_TCP, pr_flags: flags, pr_usrreqs: this.usrreqs };
    sockets.addProtocol(this.protosw4);
    sockets.addProtocol(this.protosw6);
  }

  /**
   * Replaces the profile (sysctl-style reconfiguration, the drill runner's `sysctl -w`). Takes
   * effect at once for every connection; buffer sizes only for sockets attached afterwards.
   */
  setProfile(p: TcpProfile): void {
    (this as { profile: TcpProfile }).profile = p;
  }

  /** tcp_input / tcp6_input. Takes ownership of `m`. */
  input(m: Mbuf, info: IpInputInfo, now: Instant): void {
    this.drainIfPoolShort();
    tcpInput(this, m, info, now);
  }

  /**
   * m_drain → tcp_drain: when the pool refused an allocation since the last check, free the
   * out-of-order queues. Checked per segment here; the Stack should also call it at the end of
   * every entry point, since a pool that is empty may keep every segment from reaching TCP.
   */
  drainIfPoolShort(): void {
    const d = this.ctx.pool.stats.drops;
    if (d === this.poolDropsSeen) return;
    this.poolDropsSeen = d;
    this.drain();
  }

  /**
   * tcp_drain (XNU, called from m_drain when mbufs run short): every connection's out-of-order
   * queue is freed, with its SACK blocks (RFC 2018 §8 reneging), so that the retransmission
   * filling a hole finds buffers. The data is only delayed: the sender retransmits it.
   */
  drain(): void {
    let n = 0;
    for (const p of this.pcbs.pcbs()) {
      const tp = p.ppcb as Tcpcb | null;
      if (tp === null || tp.reass === null || tp.reass.isEmpty) continue;
      tp.reass.flush();
      if (tp.sackRcv !== null) tp.sackRcv.clear();
      n++;
    }
    if (n > 0) this.stats.tcps_drain_flushed += n;
  }

  /** tcp_ctlinput / tcp6_ctlinput. */
  ctlinput(ctl: IpCtlInfo, now: Instant): void {
    tcpCtlinput(this, ctl, now);
  }

  /** TcpcbOwner: a tcpcb's timer fired. */
  tcpTimer(tp: Tcpcb, now: Instant): void {
    tcpTimers(this, tp, now);
  }

  /** Every tcpcb (netstat, tests). Allocates. */
  tcpcbs(): Tcpcb[] {
    const out: Tcpcb[] = [];
    for (const p of this.pcbs.pcbs()) if (p.ppcb !== null) out.push(p.ppcb as Tcpcb);
    return out;
  }
}
