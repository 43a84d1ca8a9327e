// UDP: Linux datagrams over IPv4 and IPv6, checksum rules of RFC 768 and RFC 8200 §8.1.

import { describe, expect, it } from 'vitest';
import {
  Ipv4View, Ipv6View, UdpView, emitUdp, parseUdp, prettyUdp, pseudoHeaderSum4, pseudoHeaderSum6, udpReprLen,
  IPPROTO_UDP,
} from '../../stack/wire/index.js';
import { UDP4, UDP4_FRAG1, UDP6, UDP6_HBH_DSTOPTS } from './fixtures/linux-lo.js';

const ip4 = new Ipv4View();
const ip6 = new Ipv6View();
const udp = new UdpView();

function udp4(pkt: Uint8Array): { v: UdpView; ps: number } {
  expect(ip4.wrap(pkt).check()).toBeNull();
  const v = udp.wrap(pkt, ip4.payloadOffset, ip4.payloadLen);
  expect(v.check()).toBeNull();
  return { v, ps: pseudoHeaderSum4(pkt, ip4.srcOffset, pkt, ip4.dstOffset, IPPROTO_UDP, v.length) };
}

function udp6(pkt: Uint8Array, off = 40): { v: UdpView; ps: number } {
  expect(ip6.wrap(pkt).check()).toBeNull();
  const v = udp.wrap(pkt, off, ip6.payloadLen - (off - 40));
  expect(v.check()).toBeNull();
  return { v, ps: pseudoHeaderSum6(pkt, ip6.srcOffset, pkt, ip6.dstOffset, IPPROTO_UDP, v.length) };
}

describe('UDP over IPv4 (Linux)', () => {
  it('decodes field by field and verifies', () => {
    const { v, ps } = udp4(UDP4);
    expect([v.srcPort, v.dstPort, v.length, v.checksum]).toEqual([38196, 6353, 23, 0x4b10]);
    expect(v.payloadOffset).toBe(28);
    expect(v.payloadLen).toBe(15);
    expect(new TextDecoder().decode(v.payload())).toBe('hello tunstack\n');
    expect(v.verifyChecksum(ps)).toBe(true);
    expect(parseUdp(v, 4, ps)).toEqual({ ok: true, value: { srcPort: 38196, dstPort: 6353, payloadLen: 15 } });
    expect(prettyUdp(v)).toBe('38196 > 6353: UDP, length 15');
  });

  it('re-emits the same header and checksum', () => {
    const { v, ps } = udp4(UDP4);
    const out = UDP4.slice(20);
    out.fill(0xaa, 0, 8);
    const r = { srcPort: v.srcPort, dstPort: v.dstPort, payloadLen: v.payloadLen };
    expect(udpReprLen(r)).toBe(23);
    expect(emitUdp(r, out, 0, ps)).toBe(8);
    expect(out).toEqual(UDP4.subarray(20));
  });

  it('treats a zero checksum as "none" over IPv4 only', () => {
    const b = UDP4.slice();
    b[26] = 0; b[27] = 0;
    const { v, ps } = udp4(b);
    expect(parseUdp(v, 4, ps).ok).toBe(true);
    expect(parseUdp(v, 6, ps)).toEqual({ ok: false, error: 'bad-checksum' });
    expect(parseUdp(v, 6, null)).toEqual({ ok: false, error: 'bad-checksum' });
  });

  it('reports a corrupted datagram, unless verification is offloaded', () => {
    const b = UDP4.slice();
    b[30] = b[30]! ^ 0x20;
    const { v, ps } = udp4(b);
    expect(parseUdp(v, 4, ps)).toEqual({ ok: false, error: 'bad-checksum' });
    expect(parseUdp(v, 4, null).ok).toBe(true);
  });

  it('the first fragment carries the whole datagram length in its UDP header', () => {
    expect(ip4.wrap(UDP4_FRAG1).check()).toBeNull();
    const v = udp.wrap(UDP4_FRAG1, 20, 1256);
    expect(v.check()).toBe('bad-length'); // 1544 > 1256: only reassembly makes it whole
    expect(v.wrap(UDP4_FRAG1, 20, 8).len).toBe(8);
  });

  it('sends a computed checksum of 0 as 0xffff (RFC 768)', () => {
    const b = new Uint8Array(8 + 2);
    const ps = 0x1234;
    emitUdp({ srcPort: 1, dstPort: 2, payloadLen: 2 }, b, 0, ps);
    // Choose the payload word that makes the computed checksum exactly 0.
    const c = (b[6]! << 8) | b[7]!;
    b[8] = c >> 8; b[9] = c & 0xff;
    emitUdp({ srcPort: 1, dstPort: 2, payloadLen: 2 }, b, 0, ps);
    expect((b[6]! << 8) | b[7]!).toBe(0xffff);
    expect(new UdpView(b).verifyChecksum(ps)).toBe(true);
    const v = new UdpView(b);
    v.fillChecksum(ps);
    expect(v.checksum).toBe(0xffff);
  });
});

describe('UDP over IPv6 (Linux)', () => {
  it('decodes an odd-length datagram and verifies with the IPv6 pseudo-header', () => {
    const { v, ps } = udp6(UDP6);
    expect([v.srcPort, v.dstPort, v.length, v.payloadLen]).toEqual([56571, 6354, 11, 3]);
    expect(parseUdp(v, 6, ps).ok).toBe(true);
  });

  it('after HbH and DestOpts headers', () => {
    const { v, ps } = udp6(UDP6_HBH_DSTOPTS, 64);
    expect([v.srcPort, v.dstPort, v.payloadLen]).toEqual([38382, 6356, 3]);
    expect(parseUdp(v, 6, ps).ok).toBe(true);
  });
});
