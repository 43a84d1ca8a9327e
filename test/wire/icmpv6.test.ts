// ICMPv6: Linux echo and port-unreachable, Scapy-built Packet Too Big, errors and NDP.

import { describe, expect, it } from 'vitest';
import {
  ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, ICMP6_ECHO_REQUEST, ICMP6_PARAMPROB_NEXTHEADER,
  ICMP6_TIME_EXCEED_REASSEMBLY, IPPROTO_ICMPV6, Icmpv6View, Ipv6View, ND_NEIGHBOR_SOLICIT, UdpView, emitIcmpv6,
  icmpv6ReprLen, isIcmpv6Error, isNdpType, parseIcmpv6, prettyIcmpv6, pseudoHeaderSum6, type Icmpv6Repr,
} from '../../stack/wire/index.js';
import { ICMP6_PORT_UNREACH, PING6_REPLY, PING6_REQUEST } from './fixtures/linux-lo.js';
import { ICMP6_NS, ICMP6_PARAMPROB, ICMP6_PTB, ICMP6_TIMXCEED } from './fixtures/scapy-built.js';

const ip = new Ipv6View();
const icmp = new Icmpv6View();

function icmpOf(pkt: Uint8Array): { v: Icmpv6View; ps: number } {
  expect(ip.wrap(pkt).check()).toBeNull();
  expect(ip.nextHeader).toBe(IPPROTO_ICMPV6);
  const ps = pseudoHeaderSum6(pkt, ip.srcOffset, pkt, ip.dstOffset, IPPROTO_ICMPV6, ip.payloadLen);
  return { v: icmp.wrap(pkt, ip.payloadOffset, ip.payloadLen), ps };
}

function parsed(pkt: Uint8Array): Icmpv6Repr {
  const { v, ps } = icmpOf(pkt);
  const r = parseIcmpv6(v, ps);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function reEmits(pkt: Uint8Array): void {
  const { v, ps } = icmpOf(pkt);
  const orig = pkt.slice(v.off, v.off + v.len);
  const r = parsed(pkt);
  const out = new Uint8Array(icmpv6ReprLen(r));
  expect(emitIcmpv6(r, out, 0, ps)).toBe(orig.length);
  expect(out).toEqual(orig);
}

describe('ICMPv6 echo (Linux ping)', () => {
  it('decodes and verifies the request with the pseudo-header', () => {
    const { v, ps } = icmpOf(PING6_REQUEST);
    expect([v.type, v.code, v.checksum, v.ident, v.seq, v.dataLen]).toEqual([ICMP6_ECHO_REQUEST, 0, 0x45d4, 16563, 1, 20]);
    expect(v.verifyChecksum(ps)).toBe(true);
    expect(v.verifyChecksum(ps ^ 1)).toBe(false);
    expect(parsed(PING6_REQUEST)).toMatchObject({ kind: 'echo-request', ident: 16563, seq: 1 });
    expect(parsed(PING6_REPLY)).toMatchObject({ kind: 'echo-reply', ident: 16563, seq: 1 });
    expect(prettyIcmpv6(new Icmpv6View(PING6_REQUEST, 40, 28))).toBe('ICMP6, echo request, id 16563, seq 1, length 28');
    reEmits(PING6_REQUEST);
    reEmits(PING6_REPLY);
  });

  it('parses without verification when the pseudo sum is null (offload)', () => {
    const b = PING6_REQUEST.slice();
    b[b.length - 1] = b[b.length - 1]! ^ 1;
    const { v, ps } = icmpOf(b);
    expect(parseIcmpv6(v, ps)).toEqual({ ok: false, error: 'bad-checksum' });
    expect(parseIcmpv6(v, null).ok).toBe(true);
    v.fillChecksum(ps);
    expect(parseIcmpv6(v, ps).ok).toBe(true);
  });
});

describe('ICMPv6 errors and NDP', () => {
  it('Linux port unreachable quotes the offending packet', () => {
    const { v } = icmpOf(ICMP6_PORT_UNREACH);
    expect([v.type, v.code, v.isError]).toEqual([ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, true]);
    expect(parsed(ICMP6_PORT_UNREACH)).toMatchObject({ kind: 'dst-unreach', code: ICMP6_DST_UNREACH_NOPORT });
    const q = new Ipv6View(ICMP6_PORT_UNREACH, v.dataOffset, v.dataLen);
    expect(q.check()).toBeNull();
    const u = new UdpView(ICMP6_PORT_UNREACH, q.payloadOffset, q.payloadLen);
    expect(u.check()).toBeNull();
    expect([u.srcPort, u.dstPort]).toEqual([60908, 9]);
    expect(prettyIcmpv6(v)).toBe('ICMP6, destination unreachable, unreachable port, length 67');
    reEmits(ICMP6_PORT_UNREACH);
  });

  it('Packet Too Big carries a 32-bit MTU', () => {
    const r = parsed(ICMP6_PTB);
    expect(r).toMatchObject({ kind: 'packet-too-big', code: 0, mtu: 1280 });
    expect(r.data.length).toBe(48);
    reEmits(ICMP6_PTB);
  });

  it('time exceeded and parameter problem', () => {
    expect(parsed(ICMP6_TIMXCEED)).toMatchObject({ kind: 'time-exceeded', code: ICMP6_TIME_EXCEED_REASSEMBLY });
    expect(parsed(ICMP6_PARAMPROB)).toMatchObject({ kind: 'param-problem', code: ICMP6_PARAMPROB_NEXTHEADER, pointer: 40 });
    reEmits(ICMP6_TIMXCEED);
    reEmits(ICMP6_PARAMPROB);
  });

  it('recognises Neighbor Solicitation as NDP and keeps its body', () => {
    const r = parsed(ICMP6_NS);
    expect(r).toMatchObject({ kind: 'ndp', type: ND_NEIGHBOR_SOLICIT, code: 0, rest: 0 });
    expect(r.data.length).toBe(16 + 8); // target address + source link-layer address option
    expect(isNdpType(ND_NEIGHBOR_SOLICIT) && !isIcmpv6Error(ND_NEIGHBOR_SOLICIT)).toBe(true);
    reEmits(ICMP6_NS);
    expect(prettyIcmpv6(icmpOf(ICMP6_NS).v)).toBe('ICMP6, neighbor solicitation, length 32');
  });

  it('unknown types parse as "other"', () => {
    const out = new Uint8Array(12);
    const r: Icmpv6Repr = { kind: 'other', type: 200, code: 7, rest: 0xdeadbeef, data: new Uint8Array([1, 2, 3, 4]) };
    emitIcmpv6(r, out, 0, 0);
    const p = parseIcmpv6(new Icmpv6View(out), 0);
    expect(p).toEqual({ ok: true, value: r });
  });
});
