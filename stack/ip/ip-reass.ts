// IPv4 reassembly glue (BSD ip_reass): keys fragments by (src, dst, id, protocol) (RFC 791 §3.2),
// feeds them to the shared engine with BSD-style overlap trimming, fixes the header of a
// reassembled datagram, counts every outcome in ipstat, and answers a timeout with ICMP time
// exceeded, code 1 (RFC 792; RFC 1122 §3.3.2) when the first fragment had arrived.
// ingress: ip-input.ts → Ip4Reass.input → Reassembler.insert (reass.ts) → back to ip-input.ts.

import type { Mbuf } from '../mbuf/index.js';
import { mFreem, mLength } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import { ICMP_TIMXCEED, ICMP_TIMXCEED_REASS } from '../wire/icmpv4.js';
import { IPV4_MAX_PACKET_LEN } from '../wire/ipv4.js';
import type { IpLayer } from './ip-layer.js';
import { Reassembler } from './reass.js';
import type { ReassEvent, ReassHooks, ReassLimits } from './reass.js';
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
    const v = this.ip.v4.wrap(m.buf, m.data, m.len);
    const off = v.fragOffset;
    const len = ipLen - hlen;
    if (hlen + off + len > IPV4_MAX_PACKET_LEN) {
      // The datagram would exceed 65535 bytes (the "ping of death"): never reassemble it.
      st.ips_toolong++;
      st.ips_fragdropped++;
      mFreem(m);
      return null;
    }
    const r = this.engine.insert(m, hlen, hlen, v.srcOffset, v.dstOffset, v.ident, v.protocol,
      off, len, v.moreFrags, 0, v.ecn, now);
    if (r === null) return null;
    // The first fragment's header now describes the whole datagram: no flags, offset 0, CE if any
    // fragment was CE (RFC 3168 §5.3).
    const rv = this.ip.v4.wrap(r.buf, r.data, r.len);
    if (this.engine.lastEcn === 3) r.buf[r.data + 1] = r.buf[r.data + 1]! | 3;
    rv.setTotalLen(rv.headerLen + this.engine.lastTotalLen);
    rv.setFlags(0);
    rv.setFragment(false, 0);
    rv.fillChecksum();
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
      case 'dead': case 'ecn': break;
    }
  }

  reassTimedOut(first: Mbuf | null, nfrags: number, now: Instant): void {
    this.ip.ipstat.ips_fragtimeout += nfrags;
    if (first === null) return;
    // The first fragment may have been trimmed by a later overlap: make its header agree with it.
    const v = this.ip.v4.wrap(first.buf, first.data, first.len);
    v.setTotalLen(mLength(first));
    v.fillChecksum();
    // RFC 792: time exceeded, code 1 "fragment reassembly time exceeded".
    icmpError(this.ip, first, ICMP_TIMXCEED, ICMP_TIMXCEED_REASS, 0, now);
  }
}
