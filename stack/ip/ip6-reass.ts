// IPv6 reassembly glue (BSD frag6_input): keys fragments by (src, dst, identification) (RFC 8200
// §4.5), feeds them to the shared engine with RFC 5722's rule (any overlap discards the datagram),
// rebuilds the reassembled packet (unfragmentable part of the first fragment, its Next Header
// patched to the fragment header's, payload length recomputed), counts every outcome in ip6stat,
// and answers a timeout with ICMPv6 time exceeded, code 1, when the first fragment had arrived.
// ingress: ip6-input.ts → Ip6Reass.input → Reassembler.insert (reass.ts) → back to ip6-input.ts.

import type { Mbuf } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import type { IpLayer } from './ip-layer.js';
import { Reassembler } from './reass.js';
import type { ReassEvent, ReassHooks, ReassLimits } from './reass.js';
import { FRAG6, FRAG6_LEN, get16, get32, IP6, IP6_HLEN, IP6F_MORE, IP6F_OFFMASK, IP_MAXPACKET, set16 } from './hdr.js';
import { icmp6Error, ICMP6_PARAM_PROB, ICMP6_TIME_EXCEEDED } from './icmp6.js';

export class Ip6Reass implements ReassHooks {
  readonly engine: Reassembler;

  constructor(private readonly ip: IpLayer, limits: ReassLimits) {
    this.engine = new Reassembler(ip.ctx.timers, limits, this, 16, true);
  }

  /**
   * One fragment: the IPv6 header and unfragmentable headers (fragOff bytes), the fragment header
   * at fragOff (contiguous), then the fragment's data; chain trimmed to 40 + plen. `nxtOff` is the
   * offset of the Next Header byte that names the fragment header. Takes ownership; returns the
   * reassembled packet or null.
   */
  input(m: Mbuf, fragOff: number, nxtOff: number, plen: number, now: Instant): Mbuf | null {
    const st = this.ip.ip6stat;
    st.ip6s_fragments++;
    const b = m.buf, o = m.data;
    const offlg = get16(b, o + fragOff + FRAG6.offlg);
    const foff = offlg & IP6F_OFFMASK;
    const len = IP6_HLEN + plen - (fragOff + FRAG6_LEN);
    // RFC 8200 §4.5: "If the length and offset of a fragment are such that the Payload Length of
    // the packet reassembled from that fragment would exceed 65,535 octets, then that fragment must
    // be discarded and an ICMP Parameter Problem, Code 0, message should be sent ... pointing to
    // the Fragment Offset field of the fragment packet."
    if (fragOff - IP6_HLEN + foff + len > IP_MAXPACKET) {
      st.ip6s_toolong++;
      st.ip6s_fragdropped++;
      icmp6Error(this.ip, m, ICMP6_PARAM_PROB, 0, fragOff + FRAG6.offlg, now);
      return null;
    }
    const fragNxt = b[o + fragOff + FRAG6.nxt]!;
    const r = this.engine.insert(m, fragOff + FRAG6_LEN, fragOff, o + IP6.src, o + IP6.dst,
      get32(b, o + fragOff + FRAG6.ident), 0, foff, len, (offlg & IP6F_MORE) !== 0, nxtOff * 256 + fragNxt, now);
    if (r === null) return null;
    // RFC 8200 §4.5 reassembly: the Next Header of the last unfragmentable header comes from the
    // first fragment's fragment header; the payload length is recomputed.
    const aux = this.engine.lastAux;
    r.buf[r.data + (aux >>> 8)] = aux & 0xff;
    set16(r.buf, r.data + IP6.plen, r.pktLen - IP6_HLEN);
    st.ip6s_reassembled++;
    return r;
  }

  reassEvent(ev: ReassEvent, nfrags: number): void {
    const st = this.ip.ip6stat;
    st.ip6s_fragdropped += nfrags;
    switch (ev) {
      case 'dup': st.ip6s_fragdup += nfrags; break;
      case 'overlap': st.ip6s_fragoverlap++; break;
      case 'bad': st.ip6s_badfrags++; break;
      case 'qfull': st.ip6s_fragqfull++; break;
      case 'toomany': st.ip6s_fragtoomany++; break;
      case 'nobufs': st.ip6s_nobufs++; break;
      case 'trim': case 'dead': break;
    }
  }

  reassTimedOut(first: Mbuf | null, nfrags: number, now: Instant): void {
    this.ip.ip6stat.ip6s_fragtimeout += nfrags;
    // RFC 8200 §4.5: time exceeded, code 1, only when the first fragment had arrived.
    if (first !== null) icmp6Error(this.ip, first, ICMP6_TIME_EXCEEDED, 1, 0, now);
  }
}
