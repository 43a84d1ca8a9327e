// IPv6 reassembly glue (BSD frag6_input): keys fragments by (src, dst, identification) (RFC 8200
// §4.5), feeds them to the shared engine with RFC 5722's rule (any overlap discards the datagram),
// rebuilds the reassembled packet (unfragmentable part of the first fragment, its Next Header
// patched to the fragment header's, payload length recomputed), counts every outcome in ip6stat,
// and answers a timeout with ICMPv6 time exceeded, code 1, when the first fragment had arrived.
// ingress: ip6-input.ts → Ip6Reass.input → Reassembler.insert (reass.ts) → back to ip6-input.ts.

import type { Mbuf } from '../mbuf/index.js';
import type { Instant } from '../time/instant.js';
import {
  ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, ICMP6_TIME_EXCEED_REASSEMBLY, ICMP6_TIME_EXCEEDED,
} from '../wire/icmpv6.js';
import { IPV6_FRAG_HEADER_LEN, IPV6_HEADER_LEN, IPV6_MAX_PAYLOAD_LEN } from '../wire/ipv6.js';
import type { IpLayer } from './ip-layer.js';
import { Reassembler } from './reass.js';
import type { ReassEvent, ReassHooks, ReassLimits } from './reass.js';
import { icmp6Error } from './icmp6.js';

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
    const ip = this.ip;
    const f = ip.frag6.wrap(m.buf, m.data + fragOff, IPV6_FRAG_HEADER_LEN);
    const foff = f.fragOffset;
    const len = IPV6_HEADER_LEN + plen - (fragOff + IPV6_FRAG_HEADER_LEN);
    // RFC 8200 §4.5: "If the length and offset of a fragment are such that the Payload Length of
    // the packet reassembled from that fragment would exceed 65,535 octets, then that fragment must
    // be discarded and an ICMP Parameter Problem, Code 0, message should be sent ... pointing to
    // the Fragment Offset field of the fragment packet."
    if (fragOff - IPV6_HEADER_LEN + foff + len > IPV6_MAX_PAYLOAD_LEN) {
      st.ip6s_toolong++;
      st.ip6s_fragdropped++;
      icmp6Error(ip, m, ICMP6_PARAM_PROB, ICMP6_PARAMPROB_HEADER, f.fragOffsetFieldOffset - m.data, now);
      return null;
    }
    const v = ip.v6.wrap(m.buf, m.data, m.len);
    const r = this.engine.insert(m, fragOff + IPV6_FRAG_HEADER_LEN, fragOff, v.srcOffset, v.dstOffset,
      f.ident, 0, foff, len, f.moreFrags, nxtOff * 256 + f.nextHeader, v.ecn, now);
    if (r === null) return null;
    // RFC 8200 §4.5 reassembly: the Next Header of the last unfragmentable header comes from the
    // first fragment's fragment header (saved as aux: its offset * 256 + value); the payload
    // length is recomputed.
    const aux = this.engine.lastAux;
    r.buf[r.data + (aux >>> 8)] = aux & 0xff;
    // RFC 3168 §5.3: CE if any fragment was CE (the ECN bits are the low two of the traffic class,
    // bits 4-5 of the second byte).
    if (this.engine.lastEcn === 3) r.buf[r.data + 1] = r.buf[r.data + 1]! | 0x30;
    ip.v6.wrap(r.buf, r.data, r.len).setPayloadLen(r.pktLen - IPV6_HEADER_LEN);
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
      case 'trim': case 'dead': case 'ecn': break;
    }
  }

  reassTimedOut(first: Mbuf | null, nfrags: number, now: Instant): void {
    this.ip.ip6stat.ip6s_fragtimeout += nfrags;
    // RFC 8200 §4.5: time exceeded, code 1, only when the first fragment had arrived.
    if (first !== null) icmp6Error(this.ip, first, ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_REASSEMBLY, 0, now);
  }
}
