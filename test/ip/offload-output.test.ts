// Transmit offloads through IP output: linkCaps reports the outgoing link's offloads, and a
// transport checksum left to the device keeps pointing at the transport header once IP has
// prepended its header (csumStart counts from the packet's first byte, like Linux csum_start).

import { describe, expect, it } from 'vitest';
import { host } from './helpers.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { CSUM_NEEDS, M_PKTHDR, mFreem } from '../../stack/mbuf/index.js';
import { IPPROTO_UDP } from '../../stack/socket/constants.js';

describe('IP output with transmit offloads', () => {
  it('linkCaps gives the route\'s link caps, null for our own addresses and without a route', () => {
    const h = host({ addrs: ['198.18.0.2/24', '2001:db8::2/64'], caps: { txCsumOffload: true, tsoMaxBytes: 65536 } });
    expect(h.stack.ip.linkCaps(IpAddr.of('198.18.0.1'), 0)).toMatchObject({ txCsumOffload: true, tsoMaxBytes: 65536 });
    expect(h.stack.ip.linkCaps(IpAddr.of('2001:db8::1'), 0)).toMatchObject({ txCsumOffload: true });
    expect(h.stack.ip.linkCaps(IpAddr.of('198.18.0.2'), 0)).toBeNull();
    expect(h.stack.ip.linkCaps(IpAddr.of('198.19.9.9'), 0)).toBeNull();
  });

  for (const family of [4, 6] as const) {
    it(`IPv${family}: csumStart moves past the IP header; the checksum stays for the device`, () => {
      const h = host({ addrs: ['198.18.0.2/24', '2001:db8::2/64'], caps: { txCsumOffload: true } });
      const m = h.stack.pool.getPacket(64)!;
      m.flags |= M_PKTHDR;
      m.data = m.start + 64 - 8;
      m.len = 8;
      m.pktLen = 8;
      m.buf.fill(0, m.data, m.data + 8);
      m.csumFlags |= CSUM_NEEDS;
      m.csumStart = 0;
      m.csumOffset = 6;
      const src = IpAddr.of(family === 4 ? '198.18.0.2' : '2001:db8::2');
      const dst = IpAddr.of(family === 4 ? '198.18.0.1' : '2001:db8::1');
      const e = h.stack.ip.output(m, { src, dst, protocol: IPPROTO_UDP, ttl: 0, tos: 0, dontFrag: false, allowBroadcast: false, ifscope: 0 }, h.now());
      expect(e).toBe(0);
      h.poll();
      expect(h.link.sent).toHaveLength(1);
      const out = h.link.sent[0]!;
      expect(out.csumFlags & CSUM_NEEDS).toBe(CSUM_NEEDS);
      expect(out.csumStart).toBe(family === 4 ? 20 : 40);
      expect(out.csumOffset).toBe(6);
      mFreem(out);
      h.link.sent.length = 0;
    });
  }
});
