// Keeps a fuzz run bounded when TCP falls into an ACK storm. A desynchronised connection (a
// forged in-window segment moved one end's RCV.NXT or SND.UNA past what the other end really
// sent) has each end answer every ACK of the other as unacceptable; without a limit on those
// answers (RFC 5961 §7; XNU challengeack_limit, FreeBSD ack_war_cnt) the two exchange ACKs forever
// (found by this fuzzer, since fixed in stack/tcp; see packet-fuzz.test.ts). A simulation
// participant that looks at every tcpcb of both stacks every WATCH_US of virtual time (inside long
// simulation steps too) and drops, as `tcpdrop` would, a connection that sent many segments
// without a byte moving either way. Every storm it breaks fails the run.

import type { Stack } from '../../stack/stack.js';
import type { Tcpcb } from '../../stack/tcp/index.js';
import { tcpStateNames } from '../../stack/tcp/tcp-fsm.js';
import { tcpDrop } from '../../stack/tcp/tcp-subr.js';
import { ECONNABORTED } from '../../stack/errno.js';
import type { Pollable } from '../../stack/link/link.js';
import type { Instant } from '../../stack/time/instant.js';

/** How often the tcpcbs are looked at (virtual µs). */
const WATCH_US = 10_000;
/** Segments one connection may send in a watch period without a byte moving. */
const STORM_SEGMENTS = 200;

export interface Storm {
  /** Which connection, in what state, and how many segments. */
  readonly what: string;
}

function describe(s: Stack, tp: Tcpcb): string {
  const p = tp.t_inpcb;
  return `${s.name} ${p.laddr}:${p.lport} ↔ ${p.faddr}:${p.fport} ${tcpStateNames[tp.t_state] ?? tp.t_state} ` +
    `(snd_una ${tp.snd_una} snd_max ${tp.snd_max} snd_wnd ${tp.snd_wnd} rcv_nxt ${tp.rcv_nxt})`;
}

/** Drops connections caught in an ACK storm. */
export class StormBreaker implements Pollable {
  readonly storms: Storm[] = [];
  private seen = new Map<Tcpcb, { tx: number; bytes: number }>();
  private nextAt: Instant = 0;

  constructor(private readonly stacks: readonly Stack[]) {}

  pollAt(): Instant | null {
    for (const s of this.stacks) if (s.tcp.pcbs.size > 0) return this.nextAt;
    return null;
  }

  poll(now: Instant): void {
    this.nextAt = now + WATCH_US;
    const next = new Map<Tcpcb, { tx: number; bytes: number }>();
    for (const s of this.stacks) {
      for (const tp of s.tcp.tcpcbs()) {
        const tx = tp.t_txpackets, bytes = tp.t_txbytes + tp.t_rxbytes;
        const before = this.seen.get(tp);
        if (before !== undefined && before.bytes === bytes && tx - before.tx > STORM_SEGMENTS) {
          this.storms.push({
            what: `${describe(s, tp)}: ${tx - before.tx} segments in ${WATCH_US / 1000} ms without a byte moved, at t=${now}us`,
          });
          tcpDrop(s.tcp, tp, ECONNABORTED, now);
          continue;
        }
        next.set(tp, { tx, bytes });
      }
    }
    this.seen = next;
  }
}
