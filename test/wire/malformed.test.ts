// Hostile and broken headers: each must be refused with the right WireError, never a throw.

import { describe, expect, it } from 'vitest';
import {
  IPPROTO_DSTOPTS, IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_UDP, IPV6_MAX_EXT_HEADERS, Icmpv4View, Icmpv6View,
  Ipv4View, Ipv6View, TcpView, UdpView, parseIcmpv4, parseIcmpv6, parseIpv4, parseIpv6, parseTcp, parseUdp,
  walkIpv6ExtHeaders,
} from '../../stack/wire/index.js';
import { PING4_REQUEST, PING6_REQUEST, TCP4_SYN, UDP4, UDP6_HBH_DSTOPTS } from './fixtures/linux-lo.js';

const v4 = new Ipv4View();
const v6 = new Ipv6View();

describe('IPv4', () => {
  it('short buffers are truncated', () => {
    for (let n = 0; n < 20; n++) expect(v4.wrap(PING4_REQUEST.subarray(0, n)).check()).toBe('truncated');
    expect(parseIpv4(v4.wrap(new Uint8Array(0)))).toEqual({ ok: false, error: 'truncated' });
  });

  it('a window larger than the buffer is truncated, not read out of bounds', () => {
    expect(v4.wrap(PING4_REQUEST, 0, PING4_REQUEST.length + 1).check()).toBe('truncated');
    expect(v4.wrap(PING4_REQUEST, 40, 20).check()).toBe('truncated');
    expect(v4.wrap(PING4_REQUEST, -1, 20).check()).toBe('truncated');
  });

  it('wrong version', () => {
    const b = PING4_REQUEST.slice();
    b[0] = 0x65;
    expect(v4.wrap(b).check()).toBe('bad-version');
  });

  it('IHL below 5', () => {
    const b = PING4_REQUEST.slice();
    for (const ihl of [0, 1, 4]) {
      b[0] = 0x40 | ihl;
      expect(v4.wrap(b).check()).toBe('bad-header-len');
    }
  });

  it('IHL past the buffer', () => {
    const b = PING4_REQUEST.slice();
    b[0] = 0x4f; // 60-byte header in a 48-byte packet
    expect(v4.wrap(b).check()).toBe('bad-header-len');
  });

  it('total length below the header length or past the data', () => {
    const b = PING4_REQUEST.slice();
    b[2] = 0; b[3] = 19;
    expect(v4.wrap(b).check()).toBe('bad-total-len');
    b[3] = 49;
    expect(v4.wrap(b).check()).toBe('truncated');
    b[3] = 20; // header only: fine, empty payload
    expect(v4.wrap(b).check()).toBeNull();
    expect(v4.payloadLen).toBe(0);
  });
});

describe('IPv6', () => {
  it('short buffer, wrong version, payload length past the data', () => {
    expect(v6.wrap(PING6_REQUEST.subarray(0, 39)).check()).toBe('truncated');
    const b = PING6_REQUEST.slice();
    b[0] = 0x40;
    expect(v6.wrap(b).check()).toBe('bad-version');
    b[0] = 0x60; b[5] = 29;
    expect(parseIpv6(v6.wrap(b))).toEqual({ ok: false, error: 'truncated' });
  });

  it('an extension header chain running past the end', () => {
    const p = UDP6_HBH_DSTOPTS;
    // Cut inside the DestOpts header (which spans 48..64).
    expect(walkIpv6ExtHeaders(p, 40, 20, IPPROTO_HOPOPTS)).toBe('truncated');
    // Fewer than 8 bytes left for a header.
    expect(walkIpv6ExtHeaders(p, 40, 5, IPPROTO_HOPOPTS)).toBe('truncated');
    // A Hdr Ext Len claiming 2048 bytes.
    const b = new Uint8Array(16);
    b[1] = 255;
    expect(walkIpv6ExtHeaders(b, 0, 16, IPPROTO_DSTOPTS)).toBe('truncated');
    // A Fragment header cut short.
    expect(walkIpv6ExtHeaders(new Uint8Array(7), 0, 7, 44)).toBe('truncated');
    // A length argument beyond the buffer is clamped to the buffer.
    expect(walkIpv6ExtHeaders(new Uint8Array([59, 0, 0, 0, 0, 0, 0, 0]), 0, 1000, IPPROTO_DSTOPTS))
      .toMatchObject({ upperProtocol: 59, upperOffset: 8 });
  });

  it(`at most ${IPV6_MAX_EXT_HEADERS} extension headers`, () => {
    const chain = (n: number) => {
      const b = new Uint8Array(8 * n);
      for (let i = 0; i < n; i++) b[8 * i] = i === n - 1 ? IPPROTO_UDP : IPPROTO_DSTOPTS;
      return b;
    };
    expect(walkIpv6ExtHeaders(chain(16), 0, 128, IPPROTO_DSTOPTS)).toMatchObject({ upperProtocol: IPPROTO_UDP, count: 16 });
    expect(walkIpv6ExtHeaders(chain(17), 0, 136, IPPROTO_DSTOPTS)).toBe('too-many-ext-headers');
    // A long run of Routing headers also stops, even with lengths that fit.
    const r = new Uint8Array(8 * 40);
    for (let i = 0; i < 40; i++) r[8 * i] = IPPROTO_ROUTING;
    expect(walkIpv6ExtHeaders(r, 0, r.length, IPPROTO_ROUTING)).toBe('too-many-ext-headers');
  });

  it('Hop-by-Hop twice', () => {
    const b = new Uint8Array(16); // HbH → HbH
    expect(walkIpv6ExtHeaders(b, 0, 16, IPPROTO_HOPOPTS)).toBe('bad-ext-header');
  });
});

describe('UDP', () => {
  const u = new UdpView();
  it('short datagram and bad length fields', () => {
    expect(u.wrap(UDP4, 20, 7).check()).toBe('truncated');
    const b = UDP4.slice(20);
    b[4] = 0; b[5] = 7;
    expect(u.wrap(b).check()).toBe('bad-length');
    b[5] = 24; // one more than available
    expect(parseUdp(u.wrap(b), 4, null)).toEqual({ ok: false, error: 'bad-length' });
  });
});

describe('TCP', () => {
  const t = new TcpView();
  it('short segment', () => {
    expect(t.wrap(TCP4_SYN, 20, 19).check()).toBe('truncated');
  });

  it('data offset below 5 or past the segment', () => {
    const b = TCP4_SYN.slice(20);
    b[12] = 0x40;
    expect(t.wrap(b).check()).toBe('bad-header-len');
    b[12] = 0xf0; // 60-byte header in a 40-byte segment
    expect(parseTcp(t.wrap(b), null)).toEqual({ ok: false, error: 'bad-header-len' });
  });

  it('an option running past the header is refused by parseTcp', () => {
    const b = TCP4_SYN.slice(20);
    b[20 + 1] = 30; // MSS option claiming 30 bytes
    expect(parseTcp(t.wrap(b), null)).toEqual({ ok: false, error: 'bad-option' });
    b[20 + 1] = 0; // zero-length option
    expect(parseTcp(t.wrap(b), null)).toEqual({ ok: false, error: 'bad-option' });
  });

  it('a SACK option with a bad length is refused', () => {
    const b = TCP4_SYN.slice(20);
    b.set([1, 1, 5, 11], 20);
    expect(parseTcp(t.wrap(b), null)).toEqual({ ok: false, error: 'bad-option' });
  });
});

describe('ICMP', () => {
  it('fewer than 8 bytes', () => {
    expect(parseIcmpv4(new Icmpv4View(new Uint8Array(7)))).toEqual({ ok: false, error: 'truncated' });
    expect(parseIcmpv6(new Icmpv6View(new Uint8Array(7)), null)).toEqual({ ok: false, error: 'truncated' });
    expect(new Icmpv4View(new Uint8Array(8), 4, 8).check()).toBe('truncated');
  });
});
