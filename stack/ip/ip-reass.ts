// IPv4 reassembly glue (BSD ip_reass): keys fragments by (src, dst, id, protocol) (RFC 791 §3.2),
// feeds them to the shared engine with BSD-style overlap trimming, fixes the header of a
// reassembled datagram, counts every outcome in ipstat, and answers a timeout with ICMP time
// exceeded, code 1 (RFC 792; RFC 1122 §3.3.2) when the first fragment had arrived.
// ingress: ip-input.ts → Ip4Reass.input → Reassembler.insert (reass.ts) → back to ip-input.ts.

import type { Mbuf } from '../mbuf/index.js';
import { mFreem, mLength } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import type { IpLayer } from './ip-layer.js';
import { Reassembler } from './reass.js';
import type { ReassEvent, ReassHooks, ReassLimits } from './reass.js';
import { get16, IP4, IP_MAXPACKET, IP_MF, IP_OFFMASK, set16 } from './hdr.js';
import { setHeaderChecksum } from './ip-output.js';
import { icmpError } from './icmp.js';

export class Ip4Reass implements ReassHooks {
  readonly engine: Reassembler;

  constructor(private readonly ip: IpLayer, limits: ReassLimits) {
    this.engine = new Reassembler(ip.ctx.timers, limits, this, 4, false);
  }

  /**
   * One fragment: header (hlen bytes, contiguous) + payload, chain trimmed to ipLen. Takes
   * ownership; returns the reassembled datagram (header fixed: total length, no MF/offset, new
   * checksum) or null.
   */
  input(m: Mbuf, hlen: number, ipLen: number, now: Instant): Mbuf | null {
    const st = this.ip.ipstat;
    st.ips_fragments++;
    const b = m.buf, o = m.data;
    const offField = get16(b, o + IP4.off);
    const off = (offField & IP_OFFMASK) << 3;
    const len = ipLen - hlen;
    if (hlen + off + len > IP_MAXPACKET) {
      // The datagram would exceed 65535 bytes (the "ping of death"): never reassemble it.
      st.ips_toolong++;
      st.ips_fragdropped++;
      mFreem(m);
      return null;
    }
    const r = this.engine.insert(m, hlen, hlen, o + IP4.src, o + IP4.dst, get16(b, o + IP4.id), b[o + IP4.proto]!,
      off, len, (offField & IP_MF) !== 0, 0, now);
    if (r === null) return null;
    const rb = r.buf, ro = r.data;
    const rhlen = (rb[ro]! & 0x0f) << 2;
    set16(rb, ro + IP4.len, rhlen + this.engine.lastTotalLen);
    set16(rb, ro + IP4.off, 0);
    setHeaderChecksum(rb, ro);
    st.ips_reassembled++;
    return r;
  }

  reassEvent(ev: ReassEvent, nfrags: number): void {
    const st = this.ip.ipstat;
    st.ips_fragdropped += nfrags;
    switch (ev) {
      case 'dup': st.ips_fragdup += nfrags; break;
      case 'trim': st.ips_fragoverlap++; break;
      case 'bad': st.ips_badfrags += nfrags; break;
      case 'qfull': st.ips_fragqfull++; break;
      case 'toomany': st.ips_fragtoomany++; break;
      case 'overlap': st.ips_fragoverlap++; break;
      case 'nobufs': st.ips_nobufs++; break;
      case 'dead': break;
    }
  }

  reassTimedOut(first: Mbuf | null, nfrags: number, now: Instant): void {
    this.ip.ipstat.ips_fragtimeout += nfrags;
    if (first === null) return;
    // The first fragment may have been trimmed by a later overlap: make its header agree with it.
    const b = first.buf, o = first.data;
    set16(b, o + IP4.len, mLength(first));
    setHeaderChecksum(b, o);
    // RFC 792: time exceeded, code 1 "fragment reassembly time exceeded".
    icmpError(this.ip, first, 11, 1, 0, now);
  }
}
