// Initial send sequence numbers (RFC 6528). The TCP core calls isn() for every active open and for
// every SYN-ACK it answers (tcp_usrreqs connect → tcp_output; tcp_input LISTEN → SYN_RECEIVED):
//   ingress/egress: tcp-usrreq / tcp-input → IsnGenerator.isn → random/siphash.ts
// The secret comes from the stack's Rng (seeded in simulation, so ISNs replay from the seed).

import type { Rng } from '../random/rng.js';
import { SipHash24 } from '../random/siphash.js';

/** 4-µs ticks of M (RFC 6528 §3: "M is the 4 microsecond timer"). */
const M_TICK_US = 4;

export class IsnGenerator {
  private readonly secret = new Uint8Array(16);
  private readonly sip: SipHash24;
  /** localip || localport || remoteip || remoteport; 16 + 2 + 16 + 2 bytes for IPv6. */
  private readonly scratch = new Uint8Array(37);

  constructor(private readonly rng: Rng) {
    rng.fill(this.secret);
    this.sip = new SipHash24(this.secret);
  }

  /** Draws a new secret key (RFC 6528 §3: the key may be changed, e.g. at boot or periodically). */
  rekey(): void {
    this.rng.fill(this.secret);
    this.sip.setKey(this.secret);
  }

  /**
   * RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey) mod 2^32, where M
   * ticks every 4 µs (floor(nowUs / 4)) and F is the low 32 bits of SipHash-2-4 under the secret
   * key of the concatenated 4-tuple (addresses as given, 4 or 16 bytes; ports big-endian).
   * Allocation-free. Addresses longer than 16 bytes are cut to 16.
   */
  isn(laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number, nowUs: number): number {
    const f = this.keyed(laddr, lport, faddr, fport, 0);
    const m = Math.floor(nowUs / M_TICK_US) % 0x100000000;
    return (m + f) >>> 0;
  }

  /**
   * RFC 7323 §5.4 / Appendix A timestamp offset: a keyed hash of the 4-tuple (domain-separated from
   * the ISN's by one extra byte), so every incarnation of a 4-tuple gets the same offset and its
   * TSvals keep increasing across incarnations (RFC 6191 TIME_WAIT reuse relies on that), while
   * different 4-tuples reveal nothing about each other's clocks.
   */
  tsOffset(laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number): number {
    return this.keyed(laddr, lport, faddr, fport, 0x54);
  }

  /** SipHash-2-4 of localip || localport || remoteip || remoteport [|| tag]; allocation-free. */
  private keyed(laddr: Uint8Array, lport: number, faddr: Uint8Array, fport: number, tag: number): number {
    const b = this.scratch;
    let n = 0;
    const la = laddr.length < 16 ? laddr.length : 16;
    for (let i = 0; i < la; i++) b[n++] = laddr[i]!;
    b[n++] = (lport >>> 8) & 0xff; b[n++] = lport & 0xff;
    const fa = faddr.length < 16 ? faddr.length : 16;
    for (let i = 0; i < fa; i++) b[n++] = faddr[i]!;
    b[n++] = (fport >>> 8) & 0xff; b[n++] = fport & 0xff;
    if (tag !== 0) b[n++] = tag;
    return this.sip.hash(b, 0, n) >>> 0;
  }
}
