// ICMPv4: Linux echo and port-unreachable, Scapy-built errors, rebuilt byte for byte.

import { describe, expect, it } from 'vitest';
import {
  ICMP_ECHO, ICMP_ECHOREPLY, ICMP_PARAMPROB, ICMP_TIMXCEED, ICMP_TSTAMP, ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG,
  ICMP_UNREACH_PORT, Icmpv4View, Ipv4View, UdpView, emitIcmpv4, icmpv4ReprLen, isIcmpv4Error, parseIcmpv4,
  prettyIcmpv4, type Icmpv4Repr,
} from '../../stack/wire/index.js';
import { ICMP4_PORT_UNREACH, PING4_REPLY, PING4_REQUEST } from './fixtures/linux-lo.js';
import { ICMP4_NEEDFRAG, ICMP4_PARAMPROB, ICMP4_TIMXCEED, ICMP4_TSTAMP } from './fixtures/scapy-built.js';

const ip = new Ipv4View();
const icmp = new Icmpv4View();

/** Wraps the ICMP message inside an IPv4 packet. */
function icmpOf(pkt: Uint8Array): Icmpv4View {
  expect(ip.wrap(pkt).check()).toBeNull();
  return icmp.wrap(pkt, ip.payloadOffset, ip.payloadLen);
}

function parsed(pkt: Uint8Array): Icmpv4Repr {
  const r = parseIcmpv4(icmpOf(pkt));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** emit(parse(x)) must give back the original message bytes. */
function reEmits(pkt: Uint8Array): void {
  const v = icmpOf(pkt);
  const orig = pkt.slice(v.off, v.off + v.len);
  const r = parsed(pkt);
  const out = new Uint8Array(icmpv4ReprLen(r));
  expect(emitIcmpv4(r, out, 0)).toBe(orig.length);
  expect(out).toEqual(orig);
}

describe('ICMPv4 echo (Linux ping)', () => {
  it('decodes the request field by field', () => {
    const v = icmpOf(PING4_REQUEST);
    expect(v.check()).toBeNull();
    expect([v.type, v.code, v.checksum, v.ident, v.seq]).toEqual([ICMP_ECHO, 0, 0x26dc, 16553, 1]);
    expect(v.verifyChecksum()).toBe(true);
    expect(v.dataOffset).toBe(28);
    expect(v.dataLen).toBe(20);
    expect(v.isError).toBe(false);
    expect(parsed(PING4_REQUEST)).toMatchObject({ kind: 'echo-request', code: 0, ident: 16553, seq: 1 });
  });

  it('an echo reply built from the request equals what Linux sent', () => {
    const req = parsed(PING4_REQUEST);
    if (req.kind !== 'echo-request') throw new Error(req.kind);
    const out = new Uint8Array(icmpv4ReprLen(req));
    emitIcmpv4({ ...req, kind: 'echo-reply' }, out, 0);
    expect(out).toEqual(PING4_REPLY.subarray(20));
    expect(icmpOf(PING4_REPLY).type).toBe(ICMP_ECHOREPLY);
    reEmits(PING4_REQUEST);
  });

  it('prints like tcpdump', () => {
    expect(prettyIcmpv4(icmpOf(PING4_REQUEST))).toBe('ICMP echo request, id 16553, seq 1, length 28');
    expect(prettyIcmpv4(icmpOf(PING4_REPLY))).toBe('ICMP echo reply, id 16553, seq 1, length 28');
  });
});

describe('ICMPv4 errors', () => {
  it('Linux port unreachable quotes the whole UDP datagram', () => {
    const v = icmpOf(ICMP4_PORT_UNREACH);
    expect([v.type, v.code, v.isError]).toEqual([ICMP_UNREACH, ICMP_UNREACH_PORT, true]);
    const r = parsed(ICMP4_PORT_UNREACH);
    expect(r).toMatchObject({ kind: 'dst-unreach', code: ICMP_UNREACH_PORT, nextHopMtu: 0 });
    // The quote is an IPv4 datagram of its own.
    const q = new Ipv4View(ICMP4_PORT_UNREACH, v.dataOffset, v.dataLen);
    expect(q.check()).toBeNull();
    expect(q.verifyChecksum()).toBe(true);
    const u = new UdpView(ICMP4_PORT_UNREACH, q.payloadOffset, q.payloadLen);
    expect(u.check()).toBeNull();
    expect([u.srcPort, u.dstPort]).toEqual([34033, 9]);
    expect(new TextDecoder().decode(u.payload())).toBe('nobody home');
    reEmits(ICMP4_PORT_UNREACH);
    expect(prettyIcmpv4(v)).toBe('ICMP unreachable port, length 47');
  });

  it('fragmentation needed carries the next-hop MTU (RFC 1191)', () => {
    const r = parsed(ICMP4_NEEDFRAG);
    expect(r).toMatchObject({ kind: 'dst-unreach', code: ICMP_UNREACH_NEEDFRAG, nextHopMtu: 1400 });
    expect(r.data.length).toBe(28);
    const q = new Ipv4View(r.data, 0, r.data.length);
    // Only the first 28 bytes are quoted, so the quoted total length exceeds what we have.
    expect(q.check()).toBe('truncated');
    expect(q.wrap(r.data, 0, 20).len).toBe(20);
    reEmits(ICMP4_NEEDFRAG);
    expect(prettyIcmpv4(icmpOf(ICMP4_NEEDFRAG))).toBe('ICMP unreachable need to frag (mtu 1400), length 36');
  });

  it('time exceeded and parameter problem', () => {
    expect(parsed(ICMP4_TIMXCEED)).toMatchObject({ kind: 'time-exceeded', code: 0 });
    expect(icmpOf(ICMP4_TIMXCEED).type).toBe(ICMP_TIMXCEED);
    expect(parsed(ICMP4_PARAMPROB)).toMatchObject({ kind: 'param-problem', code: 0, pointer: 20 });
    expect(icmpOf(ICMP4_PARAMPROB).type).toBe(ICMP_PARAMPROB);
    reEmits(ICMP4_TIMXCEED);
    reEmits(ICMP4_PARAMPROB);
    expect(isIcmpv4Error(ICMP_PARAMPROB) && !isIcmpv4Error(ICMP_ECHO)).toBe(true);
  });

  it('an unknown type parses as "other", not an error, and round-trips', () => {
    const r = parsed(ICMP4_TSTAMP);
    expect(r).toMatchObject({ kind: 'other', type: ICMP_TSTAMP, code: 0, rest: (0x55 << 16) | 2 });
    expect(r.data.length).toBe(12);
    reEmits(ICMP4_TSTAMP);
  });

  it('rejects a bad checksum unless verification is off', () => {
    const b = PING4_REQUEST.slice();
    b[b.length - 1] = b[b.length - 1]! ^ 0xff;
    expect(parseIcmpv4(icmpOf(b))).toEqual({ ok: false, error: 'bad-checksum' });
    expect(parseIcmpv4(icmpOf(b), false).ok).toBe(true);
    const v = icmpOf(b);
    v.fillChecksum();
    expect(v.verifyChecksum()).toBe(true);
  });
});
