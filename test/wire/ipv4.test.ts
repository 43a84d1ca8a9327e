// IPv4: Linux packets decoded field by field, rebuilt byte for byte, patched in place.

import { describe, expect, it } from 'vitest';
import {
  IpAddr, Ipv4View, emitIpv4, ipv4HeaderLen, parseIpv4, prettyIpv4, internetChecksum,
  IPPROTO_ICMP, IPPROTO_UDP,
} from '../../stack/wire/index.js';
import {
  ICMP4_PORT_UNREACH, PING4_REPLY, PING4_REQUEST, TCP4_SYNACK, UDP4_FRAG1, UDP4_FRAG2,
} from './fixtures/linux-lo.js';
import { IPV4_OPTIONS_UDP } from './fixtures/scapy-built.js';

const view = new Ipv4View();

describe('Ipv4View on Linux packets', () => {
  it('decodes the ping request header field by field', () => {
    const v = view.wrap(PING4_REQUEST, 0, PING4_REQUEST.length);
    expect(v.check()).toBeNull();
    expect(v.verifyChecksum()).toBe(true);
    expect(v.version).toBe(4);
    expect(v.ihl).toBe(5);
    expect(v.headerLen).toBe(20);
    expect(v.tos).toBe(0);
    expect(v.totalLen).toBe(48);
    expect(v.ident).toBe(7846);
    expect(v.dontFrag).toBe(true);
    expect(v.moreFrags).toBe(false);
    expect(v.fragOffset).toBe(0);
    expect(v.isFragment).toBe(false);
    expect(v.ttl).toBe(64);
    expect(v.protocol).toBe(IPPROTO_ICMP);
    expect(v.checksum).toBe(0x1e25);
    expect(v.srcV4).toBe(0x7f000001);
    expect(v.dstV4).toBe(0x7f000001);
    expect(v.payloadOffset).toBe(20);
    expect(v.payloadLen).toBe(28);
    expect(v.payload().length).toBe(28);
  });

  it('reads DSCP/ECN from the ICMP error (tos 0xc0: CS6, not-ECT)', () => {
    const v = view.wrap(ICMP4_PORT_UNREACH);
    expect(v.check()).toBeNull();
    expect(v.tos).toBe(0xc0);
    expect(v.dscp).toBe(48);
    expect(v.ecn).toBe(0);
    expect(v.dontFrag).toBe(false);
  });

  it('decodes both fragments of a 1536-byte UDP datagram', () => {
    const a = new Ipv4View(UDP4_FRAG1);
    expect(a.check()).toBeNull();
    expect([a.moreFrags, a.fragOffset, a.payloadLen, a.ident, a.isFragment]).toEqual([true, 0, 1256, 47325, true]);
    const b = new Ipv4View(UDP4_FRAG2);
    expect(b.check()).toBeNull();
    expect([b.moreFrags, b.fragOffset, b.payloadLen, b.ident, b.isFragment]).toEqual([false, 1256, 288, 47325, true]);
    expect(a.payloadLen + b.payloadLen).toBe(8 + 1536);
    expect(a.verifyChecksum() && b.verifyChecksum()).toBe(true);
  });

  it('works at a non-zero offset and ignores trailing bytes beyond total length', () => {
    const buf = new Uint8Array(7 + PING4_REQUEST.length + 5);
    buf.set(PING4_REQUEST, 7);
    const v = view.wrap(buf, 7, buf.length - 7);
    expect(v.check()).toBeNull();
    expect(v.payloadOffset).toBe(27);
    expect(v.payloadLen).toBe(28);
    expect(v.srcOffset).toBe(19);
  });
});

describe('parseIpv4 / emitIpv4', () => {
  it('parses into a repr and re-emits the exact Linux header', () => {
    for (const pkt of [PING4_REQUEST, PING4_REPLY, TCP4_SYNACK, UDP4_FRAG1, UDP4_FRAG2, ICMP4_PORT_UNREACH]) {
      const r = parseIpv4(view.wrap(pkt));
      if (!r.ok) throw new Error(r.error);
      expect(r.value.options).toBeUndefined();
      const out = new Uint8Array(ipv4HeaderLen(r.value));
      expect(emitIpv4(r.value, out, 0)).toBe(20);
      expect(out).toEqual(pkt.subarray(0, 20));
    }
  });

  it('keeps options as raw bytes (Scapy-built Router Alert)', () => {
    const v = view.wrap(IPV4_OPTIONS_UDP);
    expect(v.check()).toBeNull();
    expect(v.headerLen).toBe(24);
    expect(v.optionsLen).toBe(4);
    const r = parseIpv4(v);
    if (!r.ok) throw new Error(r.error);
    expect(r.value).toMatchObject({ protocol: IPPROTO_UDP, ttl: 17, tos: 0x28, ident: 0x1234, payloadLen: 11 });
    expect(r.value.src.toString()).toBe('198.18.0.1');
    expect(Array.from(r.value.options!)).toEqual([0x94, 0x04, 0x00, 0x00]);
    const out = new Uint8Array(24);
    emitIpv4(r.value, out, 0);
    expect(out).toEqual(IPV4_OPTIONS_UDP.subarray(0, 24));
  });

  it('pads odd-sized options with zeros', () => {
    const r = {
      src: IpAddr.of('10.0.0.1'), dst: IpAddr.of('10.0.0.2'), protocol: 17, ttl: 1, tos: 0, ident: 9,
      dontFrag: false, moreFrags: false, fragOffset: 0, payloadLen: 0, options: new Uint8Array([1, 1, 1, 1, 1]),
    };
    expect(ipv4HeaderLen(r)).toBe(28);
    const out = new Uint8Array(28).fill(0xee);
    emitIpv4(r, out, 0);
    expect(Array.from(out.subarray(20))).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
    expect(internetChecksum(out, 0, 28)).toBe(0);
  });

  it('reports a corrupted header checksum unless told not to verify', () => {
    const b = PING4_REQUEST.slice();
    b[8] = 3;
    expect(parseIpv4(view.wrap(b))).toEqual({ ok: false, error: 'bad-checksum' });
    expect(parseIpv4(view.wrap(b), false).ok).toBe(true);
  });
});

describe('in-place patching', () => {
  it('decrementTtl keeps the checksum valid', () => {
    const b = PING4_REQUEST.slice();
    const v = view.wrap(b);
    expect(v.decrementTtl()).toBe(63);
    expect(v.ttl).toBe(63);
    expect(v.verifyChecksum()).toBe(true);
  });

  it('setFragment/setTotalLen/setIdent + fillChecksum turn a header into a later fragment', () => {
    const b = UDP4_FRAG1.slice(0, 20);
    const v = view.wrap(b, 0, 20);
    v.setFragment(false, 1256);
    v.setTotalLen(308);
    v.setIdent(47325);
    v.fillChecksum();
    expect(b).toEqual(UDP4_FRAG2.subarray(0, 20));
    v.setDontFrag(true);
    expect(v.dontFrag && !v.moreFrags && v.fragOffset === 1256).toBe(true);
    v.setTtl(9);
    expect(v.ttl).toBe(9);
  });
});

describe('prettyIpv4', () => {
  it('prints like tcpdump -v', () => {
    expect(prettyIpv4(view.wrap(PING4_REQUEST))).toBe(
      'IP (tos 0x0, ttl 64, id 7846, offset 0, flags [DF], proto ICMP (1), length 48) 127.0.0.1 > 127.0.0.1');
    expect(prettyIpv4(view.wrap(UDP4_FRAG1))).toContain('flags [+], proto UDP (17), length 1276');
    expect(prettyIpv4(view.wrap(PING4_REQUEST, 0, 10))).toBe('IP [truncated]');
  });
});
