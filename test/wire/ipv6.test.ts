// IPv6 fixed header and extension-header walking on Linux- and Scapy-made packets.

import { describe, expect, it } from 'vitest';
import {
  IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMPV6, IPPROTO_NONE, IPPROTO_UDP,
  IPV6_FRAG_HEADER_LEN, Ipv6View, emitIpv6, emitIpv6FragHeader, newIpv6ExtResult, parseIpv6, prettyIpv6,
  walkIpv6ExtHeaders, type Ipv6ExtResult,
} from '../../stack/wire/index.js';
import { PING6_REQUEST, TCP6_SYNACK, UDP6_FRAG1, UDP6_FRAG2, UDP6_HBH_DSTOPTS } from './fixtures/linux-lo.js';
import { IPV6_EXT_CHAIN } from './fixtures/scapy-built.js';

const view = new Ipv6View();

function walk(pkt: Uint8Array): Ipv6ExtResult {
  const v = view.wrap(pkt);
  expect(v.check()).toBeNull();
  const r = walkIpv6ExtHeaders(pkt, v.payloadOffset, v.payloadLen, v.nextHeader);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('Ipv6View on Linux packets', () => {
  it('decodes the ping request header field by field', () => {
    const v = view.wrap(PING6_REQUEST);
    expect(v.check()).toBeNull();
    expect(v.version).toBe(6);
    expect(v.trafficClass).toBe(0);
    expect(v.flowLabel).toBe(0x987bb);
    expect(v.payloadLen).toBe(28);
    expect(v.nextHeader).toBe(IPPROTO_ICMPV6);
    expect(v.hopLimit).toBe(64);
    expect(v.srcOffset).toBe(8);
    expect(v.dstOffset).toBe(24);
    expect(v.payloadOffset).toBe(40);
    expect(v.nextHeaderOffset).toBe(6);
    expect(v.payload().length).toBe(28);
  });

  it('parses and re-emits the exact header', () => {
    for (const pkt of [PING6_REQUEST, TCP6_SYNACK, UDP6_FRAG1, UDP6_HBH_DSTOPTS]) {
      const r = parseIpv6(view.wrap(pkt));
      if (!r.ok) throw new Error(r.error);
      expect(r.value.src.toString()).toBe('::1');
      const out = new Uint8Array(40);
      expect(emitIpv6(r.value, out, 0)).toBe(40);
      expect(out).toEqual(pkt.subarray(0, 40));
    }
  });

  it('setters patch in place', () => {
    const b = PING6_REQUEST.slice();
    const v = view.wrap(b);
    v.setHopLimit(1);
    v.setPayloadLen(20);
    v.setNextHeader(IPPROTO_FRAGMENT);
    expect([v.hopLimit, v.payloadLen, v.nextHeader]).toEqual([1, 20, IPPROTO_FRAGMENT]);
  });

  it('prints like tcpdump -v', () => {
    expect(prettyIpv6(view.wrap(PING6_REQUEST))).toBe(
      'IP6 (flowlabel 0x987bb, hlim 64, next-header ICMPv6 (58) payload length: 28) ::1 > ::1');
  });
});

describe('walkIpv6ExtHeaders', () => {
  it('goes straight to the upper layer when there are no extension headers', () => {
    const r = walk(PING6_REQUEST);
    expect(r).toMatchObject({ upperProtocol: IPPROTO_ICMPV6, upperOffset: 40, fragment: null, hbhPresent: false, count: 0 });
  });

  it('skips Linux HbH (8 bytes) and Destination Options (16 bytes) headers', () => {
    const r = walk(UDP6_HBH_DSTOPTS);
    expect(r).toMatchObject({ upperProtocol: IPPROTO_UDP, upperOffset: 64, fragment: null, hbhPresent: true, count: 2 });
  });

  it('parses the Linux Fragment headers of a 1536-byte UDP datagram', () => {
    const a = walk(UDP6_FRAG1);
    expect(a.upperProtocol).toBe(IPPROTO_UDP);
    expect(a.upperOffset).toBe(48);
    expect(a.fragment).toEqual({
      fragOffset: 0, moreFrags: true, ident: 0x10a29d97, fragHeaderOffset: 40, prevNextHeaderOffset: 6, nextHeader: IPPROTO_UDP,
    });
    const b = walk(UDP6_FRAG2);
    expect(b.fragment).toMatchObject({ fragOffset: 1232, moreFrags: false, ident: 0x10a29d97 });
    expect(UDP6_FRAG1.length - 48 + UDP6_FRAG2.length - 48).toBe(8 + 1536);
  });

  it('walks HbH, Routing and DestOpts to a Fragment header (Scapy chain)', () => {
    const r = walk(IPV6_EXT_CHAIN);
    // 40 fixed + 8 HbH + 24 Routing (one address) + 8 DestOpts, then the 8-byte Fragment header.
    expect(r.routingOffset).toBe(48);
    expect(r.hbhPresent).toBe(true);
    expect(r.count).toBe(4);
    expect(r.fragment).toEqual({
      fragOffset: 0, moreFrags: true, ident: 0xdeadbeef, fragHeaderOffset: 80, prevNextHeaderOffset: 72, nextHeader: IPPROTO_UDP,
    });
    expect(r.upperOffset).toBe(88);
  });

  it('stops at No Next Header', () => {
    const b = new Uint8Array(8);
    b[0] = IPPROTO_NONE;
    const r = walkIpv6ExtHeaders(b, 0, 8, IPPROTO_DSTOPTS);
    expect(r).toMatchObject({ upperProtocol: IPPROTO_NONE, upperOffset: 8 });
  });

  it('reuses a scratch result without allocating a fragment object', () => {
    const scratch = newIpv6ExtResult();
    const v = view.wrap(UDP6_FRAG2);
    const r = walkIpv6ExtHeaders(UDP6_FRAG2, 40, v.payloadLen, v.nextHeader, scratch);
    expect(r).toBe(scratch);
    expect(scratch.fragment).toBe(scratch.fragScratch);
    walkIpv6ExtHeaders(PING6_REQUEST, 40, 28, IPPROTO_ICMPV6, scratch);
    expect(scratch.fragment).toBeNull();
  });

  it('rejects Hop-by-Hop anywhere but first (RFC 8200 §4.1)', () => {
    const b = new Uint8Array(16);
    b[0] = IPPROTO_HOPOPTS; // DestOpts → HbH
    expect(walkIpv6ExtHeaders(b, 0, 16, IPPROTO_DSTOPTS)).toBe('bad-ext-header');
  });
});

describe('emitIpv6FragHeader', () => {
  it('writes the same bytes Linux did', () => {
    const out = new Uint8Array(IPV6_FRAG_HEADER_LEN);
    expect(emitIpv6FragHeader(out, 0, IPPROTO_UDP, 1232, false, 0x10a29d97)).toBe(8);
    expect(out).toEqual(UDP6_FRAG2.subarray(40, 48));
    emitIpv6FragHeader(out, 0, IPPROTO_UDP, 0, true, 0x10a29d97);
    expect(out).toEqual(UDP6_FRAG1.subarray(40, 48));
  });
});
