// TCP header: Linux handshake and data segments decoded, rebuilt byte for byte, printed like tcpdump.

import { describe, expect, it } from 'vitest';
import {
  IPPROTO_TCP, Ipv4View, Ipv6View, TH_ACK, TH_FIN, TH_PUSH, TH_SYN, TcpOptionsScratch, TcpView, emitTcp,
  parseTcp, prettyTcp, pseudoHeaderSum4, pseudoHeaderSum6, tcpFlagsString, tcpHeaderLen, type TcpRepr,
} from '../../stack/wire/index.js';
import {
  TCP4_ACK, TCP4_DATA, TCP4_FIN, TCP4_SYN, TCP4_SYNACK, TCP6_DATA, TCP6_SYN, TCP6_SYNACK,
} from './fixtures/linux-lo.js';
import { TCP4_MPTCP_SYN, TCP4_SACK } from './fixtures/scapy-built.js';

const ip4 = new Ipv4View();
const ip6 = new Ipv6View();
const tcp = new TcpView();

function seg(pkt: Uint8Array): { v: TcpView; ps: number } {
  if ((pkt[0]! >> 4) === 4) {
    expect(ip4.wrap(pkt).check()).toBeNull();
    const v = tcp.wrap(pkt, ip4.payloadOffset, ip4.payloadLen);
    return { v, ps: pseudoHeaderSum4(pkt, ip4.srcOffset, pkt, ip4.dstOffset, IPPROTO_TCP, ip4.payloadLen) };
  }
  expect(ip6.wrap(pkt).check()).toBeNull();
  const v = tcp.wrap(pkt, ip6.payloadOffset, ip6.payloadLen);
  return { v, ps: pseudoHeaderSum6(pkt, ip6.srcOffset, pkt, ip6.dstOffset, IPPROTO_TCP, ip6.payloadLen) };
}

function parsed(pkt: Uint8Array): TcpRepr {
  const { v, ps } = seg(pkt);
  const r = parseTcp(v, ps);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** emit(parse(x)) gives back the original segment, checksum included. */
function reEmits(pkt: Uint8Array): void {
  const { v, ps } = seg(pkt);
  const orig = pkt.slice(v.off, v.off + v.len);
  const r = parsed(pkt);
  const out = orig.slice();
  out.fill(0x55, 0, v.headerLen); // the payload stays, the header is rebuilt
  expect(tcpHeaderLen(r)).toBe(v.headerLen);
  expect(emitTcp(r, out, 0, ps)).toBe(v.headerLen);
  expect(out).toEqual(orig);
}

describe('TcpView on the Linux handshake', () => {
  it('decodes the SYN field by field', () => {
    const { v, ps } = seg(TCP4_SYN);
    expect(v.check()).toBeNull();
    expect(v.verifyChecksum(ps)).toBe(true);
    expect([v.srcPort, v.dstPort, v.seq, v.ack]).toEqual([40000, 80, 1263585894, 0]);
    expect([v.dataOffset, v.headerLen, v.flags, v.window, v.checksum, v.urgentPtr]).toEqual([10, 40, TH_SYN, 64480, 0xda07, 0]);
    expect([v.isSyn, v.isAck, v.isFin, v.isRst, v.isPsh, v.isUrg, v.isEce, v.isCwr])
      .toEqual([true, false, false, false, false, false, false, false]);
    expect([v.optionsOffset, v.optionsLen, v.payloadOffset, v.payloadLen]).toEqual([40, 20, 60, 0]);
    expect(parsed(TCP4_SYN).options).toEqual({
      mss: 1240, sackPermitted: true, timestamps: { tsVal: 2380543170, tsEcr: 0 }, wscale: 10,
    });
  });

  it('decodes the SYN-ACK and the data segment', () => {
    const sa = parsed(TCP4_SYNACK);
    expect(sa).toMatchObject({ srcPort: 80, dstPort: 40000, seq: 946749778, ack: 1263585895, flags: TH_SYN | TH_ACK, window: 65084 });
    expect(sa.options.timestamps).toEqual({ tsVal: 3230033766, tsEcr: 2380543170 });
    const d = parsed(TCP4_DATA);
    expect(d).toMatchObject({ seq: 1263585895, ack: 946749779, flags: TH_PUSH | TH_ACK, window: 63, payloadLen: 18 });
    expect(d.options).toEqual({ timestamps: { tsVal: 2380543171, tsEcr: 3230033766 } });
    const { v } = seg(TCP4_DATA);
    expect(new TextDecoder().decode(v.payload())).toBe('GET / HTTP/1.0\r\n\r\n');
    expect(parsed(TCP4_FIN).flags).toBe(TH_FIN | TH_ACK);
  });

  it('decodes IPv6 segments with the IPv6 pseudo-header', () => {
    expect(parsed(TCP6_SYN).options).toEqual({
      mss: 1220, sackPermitted: true, timestamps: { tsVal: 1785072396, tsEcr: 0 }, wscale: 10,
    });
    expect(parsed(TCP6_SYNACK)).toMatchObject({ seq: 3138032220, ack: 3010546353, window: 65232 });
    expect(parsed(TCP6_DATA).payloadLen).toBe(18);
  });

  it('rebuilds every Linux segment byte for byte (same option layout as Linux)', () => {
    for (const p of [TCP4_SYN, TCP4_SYNACK, TCP4_ACK, TCP4_DATA, TCP4_FIN, TCP6_SYN, TCP6_SYNACK, TCP6_DATA]) reEmits(p);
  });

  it('rebuilds Scapy segments with SACK blocks and an MPTCP option', () => {
    expect(parsed(TCP4_SACK).options).toEqual({ timestamps: { tsVal: 111, tsEcr: 222 }, sack: [[2000, 3000], [4000, 5000]] });
    reEmits(TCP4_SACK);
    const m = parsed(TCP4_MPTCP_SYN);
    expect(m.options.mss).toBe(1460);
    expect(m.options.mptcp?.map((b) => Array.from(b))).toEqual([[30, 12, 0x01, 0x81, 1, 2, 3, 4, 5, 6, 7, 8]]);
    reEmits(TCP4_MPTCP_SYN);
  });

  it('rejects a bad checksum unless offloaded', () => {
    const b = TCP4_DATA.slice();
    b[b.length - 1] = b[b.length - 1]! ^ 1;
    const { v, ps } = seg(b);
    expect(parseTcp(v, ps)).toEqual({ ok: false, error: 'bad-checksum' });
    expect(parseTcp(v, null).ok).toBe(true);
    v.fillChecksum(ps);
    expect(parseTcp(v, ps).ok).toBe(true);
  });

  it('scans options into a reusable scratch object', () => {
    const s = new TcpOptionsScratch();
    expect(seg(TCP4_SYN).v.scanOptions(s)).toBeNull();
    expect([s.mss, s.wscale, s.sackPermitted, s.tsPresent, s.tsVal, s.tsEcr, s.sackCount])
      .toEqual([1240, 10, true, true, 2380543170, 0, 0]);
    expect(seg(TCP4_SACK).v.scanOptions(s)).toBeNull();
    expect([s.mss, s.wscale, s.sackPermitted, s.sackCount]).toEqual([-1, -1, false, 2]);
    expect(Array.from(s.sackBlocks.subarray(0, 4))).toEqual([2000, 3000, 4000, 5000]);
    expect(seg(TCP4_MPTCP_SYN).v.scanOptions(s)).toBeNull();
    expect([s.mptcpCount, s.mptcpOffsets[0]]).toEqual([1, 44]);
  });
});

describe('prettyTcp', () => {
  it('prints what tcpdump -S printed for the captures', () => {
    expect(prettyTcp(seg(TCP4_SYN).v)).toBe(
      '40000 > 80: Flags [S], seq 1263585894, win 64480, options [mss 1240,sackOK,TS val 2380543170 ecr 0,nop,wscale 10], length 0');
    expect(prettyTcp(seg(TCP4_SYNACK).v)).toBe(
      '80 > 40000: Flags [S.], seq 946749778, ack 1263585895, win 65084, options [mss 1240,sackOK,TS val 3230033766 ecr 2380543170,nop,wscale 10], length 0');
    expect(prettyTcp(seg(TCP4_DATA).v)).toBe(
      '40000 > 80: Flags [P.], seq 1263585895:1263585913, ack 946749779, win 63, options [nop,nop,TS val 2380543171 ecr 3230033766], length 18');
    expect(prettyTcp(seg(TCP4_FIN).v)).toContain('Flags [F.]');
    expect(prettyTcp(seg(TCP4_SACK).v)).toContain('sack 2 {2000:3000}{4000:5000}');
    expect(tcpFlagsString(0)).toBe('none');
  });

  it('prints a template segment as in the style guide', () => {
    const r: TcpRepr = {
      srcPort: 40000, dstPort: 80, seq: 1000, ack: 0, flags: TH_SYN, window: 64240, urgentPtr: 0,
      options: { mss: 1460, wscale: 7 }, payloadLen: 0,
    };
    const b = new Uint8Array(tcpHeaderLen(r));
    emitTcp(r, b, 0, null);
    expect(prettyTcp(new TcpView(b))).toBe('40000 > 80: Flags [S], seq 1000, win 64240, options [mss 1460,nop,wscale 7], length 0');
  });
});
