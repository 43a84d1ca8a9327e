// The pure parts behind `tunstack up`, checked without root or a device: the virtio_net_hdr
// codec, HTTP request framing, the `up` options, the service list, the one-line device errors and
// the chargen pattern. (These run everywhere; the rest of test/kernel needs root and /dev/net/tun.)

import { describe, expect, it } from 'vitest';
import { MbufPool, CSUM_DATA_VALID, CSUM_NEEDS, GSO_TCPV4, GSO_TCPV6 } from '../../stack/mbuf/index.js';
import {
  applyVnetHdr, buildVnetHdr, readVnetHdr, VIRTIO_NET_HDR_F_DATA_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6, VNET_ERR_UNSUPPORTED, VNET_HDR_LEN, VNET_OK,
} from '../../stack/link/tun/virtio-net-hdr.js';
import { describeOpenError } from '../../stack/link/tun/tun-errors.js';
import { pseudoHeaderSum4, pseudoHeaderSum6 } from '../../stack/wire/checksum.js';
import { ChunkedDecoder, HEAD_MAX, parseRequestHead } from '../../tools/services/http-request.js';
import { parseServeList } from '../../tools/services/registry.js';
import { chargenPattern, CHARGEN_CYCLE } from '../../tools/services/tcp-chargen.js';
import { parseOptions, UsageError } from '../../tools/cli-args.js';
import { UP_OPTIONS, upConfigFromOptions } from '../../tools/up-command.js';

const pool = new MbufPool();

/** An IPv4/TCP packet (20 + 20 bytes of headers) with `payload` bytes, laid out after a virtio header. */
function tcp4(payload: number): Uint8Array {
  const b = new Uint8Array(VNET_HDR_LEN + 40 + payload);
  const p = VNET_HDR_LEN;
  b[p] = 0x45; b[p + 2] = (40 + payload) >> 8; b[p + 3] = (40 + payload) & 0xff; b[p + 8] = 64; b[p + 9] = 6;
  b.set([198, 18, 0, 2, 198, 18, 0, 1], p + 12);
  b[p + 20 + 12] = 5 << 4;
  return b;
}

function tcp6(payload: number): Uint8Array {
  const b = new Uint8Array(VNET_HDR_LEN + 72 + payload);
  const p = VNET_HDR_LEN;
  b[p] = 0x60; b[p + 4] = (32 + payload) >> 8; b[p + 5] = (32 + payload) & 0xff; b[p + 6] = 6; b[p + 7] = 64;
  b.set([0x20, 0x01, 0x0d, 0xb8], p + 8); b[p + 23] = 2;
  b.set([0x20, 0x01, 0x0d, 0xb8], p + 24); b[p + 39] = 1;
  b[p + 40 + 12] = 8 << 4; // 32-byte TCP header (timestamps)
  return b;
}

describe('virtio_net_hdr', () => {
  it('writes GSO TCPv4 with NEEDS_CSUM, hdr_len, gso_size and the pseudo-header seed', () => {
    const b = tcp4(3000);
    const m = pool.getHdr(1)!;
    m.gsoType = GSO_TCPV4; m.gsoSize = 1448;
    expect(buildVnetHdr(b, 0, b.length - VNET_HDR_LEN, m)).toBe(VNET_OK);
    expect(readVnetHdr(b, 0)).toEqual({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 40, gsoSize: 1448, csumStart: 20, csumOffset: 16 });
    const seed = pseudoHeaderSum4(b, VNET_HDR_LEN + 12, b, VNET_HDR_LEN + 16, 6, 3020);
    expect((b[VNET_HDR_LEN + 36]! << 8) | b[VNET_HDR_LEN + 37]!).toBe(seed);
    pool.free(m);
  });

  it('writes GSO TCPv6 (hdr_len counts TCP options) and refuses a family mismatch', () => {
    const b = tcp6(5000);
    const m = pool.getHdr(1)!;
    m.gsoType = GSO_TCPV6; m.gsoSize = 1428;
    expect(buildVnetHdr(b, 0, b.length - VNET_HDR_LEN, m)).toBe(VNET_OK);
    expect(readVnetHdr(b, 0)).toMatchObject({ gsoType: VIRTIO_NET_HDR_GSO_TCPV6, hdrLen: 72, gsoSize: 1428, csumStart: 40, csumOffset: 16 });
    const seed = pseudoHeaderSum6(b, VNET_HDR_LEN + 8, b, VNET_HDR_LEN + 24, 6, 5032);
    expect((b[VNET_HDR_LEN + 56]! << 8) | b[VNET_HDR_LEN + 57]!).toBe(seed);
    m.gsoType = GSO_TCPV4;
    expect(buildVnetHdr(b, 0, b.length - VNET_HDR_LEN, m)).toBe(VNET_ERR_UNSUPPORTED);
    pool.free(m);
  });

  it('marks a GSO super-packet carrying CWR with VIRTIO_NET_HDR_GSO_ECN', () => {
    const b = tcp4(3000);
    b[VNET_HDR_LEN + 20 + 13] = 0x80 | 0x10; // CWR|ACK
    const m = pool.getHdr(1)!;
    m.gsoType = GSO_TCPV4; m.gsoSize = 1448;
    expect(buildVnetHdr(b, 0, b.length - VNET_HDR_LEN, m)).toBe(VNET_OK);
    expect(readVnetHdr(b, 0).gsoType).toBe(VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);
    pool.free(m);
  });

  it('writes a zero header for a packet without offloads, NEEDS_CSUM for CSUM_NEEDS', () => {
    const b = tcp4(10);
    b.fill(0xee, 0, VNET_HDR_LEN);
    const m = pool.getHdr(1)!;
    expect(buildVnetHdr(b, 0, b.length - VNET_HDR_LEN, m)).toBe(VNET_OK);
    expect([...b.subarray(0, VNET_HDR_LEN)]).toEqual(new Array(VNET_HDR_LEN).fill(0));
    m.csumFlags = CSUM_NEEDS;
    expect(buildVnetHdr(b, 0, b.length - VNET_HDR_LEN, m)).toBe(VNET_OK);
    expect(readVnetHdr(b, 0)).toMatchObject({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: 0, csumStart: 20, csumOffset: 16 });
    pool.free(m);
  });

  it('maps received headers onto the mbuf: NEEDS_CSUM and DATA_VALID are valid, GSO type and size carried', () => {
    const h = new Uint8Array(VNET_HDR_LEN);
    const m = pool.getHdr(1)!;
    h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM; h[1] = VIRTIO_NET_HDR_GSO_TCPV6 | 0x80; h[4] = 0xa8; h[5] = 0x05;
    applyVnetHdr(h, 0, m);
    expect([m.csumFlags, m.gsoType, m.gsoSize]).toEqual([CSUM_DATA_VALID, GSO_TCPV6, 1448]);
    const n = pool.getHdr(1)!;
    h.fill(0); h[0] = VIRTIO_NET_HDR_F_DATA_VALID;
    applyVnetHdr(h, 0, n);
    expect([n.csumFlags, n.gsoType]).toEqual([CSUM_DATA_VALID, 0]);
    pool.free(m); pool.free(n);
  });
});

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('HTTP request framing', () => {
  it('parses a GET, and the next pipelined request after it', () => {
    const b = bytes('GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const r = parseRequestHead(b, 0, b.length);
    expect(r).toMatchObject({ kind: 'ok', head: { method: 'GET', target: '/bytes/10', minor: 1, keepAlive: true, contentLength: null, chunked: false } });
    const used = r.kind === 'ok' ? r.consumed : 0;
    expect(parseRequestHead(b, used, b.length)).toMatchObject({ kind: 'ok', head: { target: '/', minor: 0, keepAlive: true } });
  });

  it('waits for the end of the head, and refuses heads over the limit', () => {
    const b = bytes('PUT /sha256 HTTP/1.1\r\nContent-Length: 5\r\n');
    expect(parseRequestHead(b, 0, b.length).kind).toBe('incomplete');
    const big = bytes(`GET / HTTP/1.1\r\nX: ${'a'.repeat(HEAD_MAX)}\r\n\r\n`);
    expect(parseRequestHead(big, 0, big.length)).toMatchObject({ kind: 'error', status: 431 });
  });

  it('frames bodies strictly: conflicting lengths 400, unknown codings 501, chunked wins over a length and closes', () => {
    const p = (s: string) => { const b = bytes(s); return parseRequestHead(b, 0, b.length); };
    expect(p('PUT / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n')).toMatchObject({ kind: 'error', status: 400 });
    expect(p('PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n')).toMatchObject({ kind: 'error', status: 501 });
    expect(p('PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n')).toMatchObject({ kind: 'ok', head: { chunked: true, contentLength: null, keepAlive: false } });
    expect(p('GARBAGE\r\n\r\n')).toMatchObject({ kind: 'error', status: 400 });
    expect(p('\r\nGET / HTTP/1.1\nHost: x\n\n')).toMatchObject({ kind: 'ok', head: { target: '/' } });
    expect(p('POST /sha256 HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n')).toMatchObject({ kind: 'ok', head: { expectContinue: true, keepAlive: false } });
  });

  it('decodes chunked bodies fed a byte at a time, and stops at the end of the trailers', () => {
    const wire = bytes('5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\nNEXT');
    const d = new ChunkedDecoder();
    let body = '';
    let used = 0;
    for (let i = 0; i < wire.length && !d.done; i++) {
      const n = d.feed(wire, i, 1, (b, o, l) => { body += new TextDecoder().decode(b.subarray(o, o + l)); });
      expect(n).toBeGreaterThanOrEqual(0);
      used += n;
    }
    expect(body).toBe('hello world');
    expect(d.done).toBe(true);
    expect(new TextDecoder().decode(wire.subarray(used))).toBe('NEXT');
    const bad = new ChunkedDecoder();
    expect(bad.feed(bytes('zz\r\n'), 0, 4, () => {})).toBe(-1);
  });
});

describe('tunstack up options', () => {
  it('fills in the defaults', () => {
    const cfg = upConfigFromOptions(parseOptions([], UP_OPTIONS).opts);
    expect(cfg).toMatchObject({
      tun: 'tunstack0', netns: 'tunstack', addrs: ['198.18.0.2/24', '2001:db8::2/64'], hostAddrs: ['198.18.0.1/24', '2001:db8::1/64'],
      mtu: 1500, serve: ['echo', 'discard', 'chargen', 'http'], pcap: null, offload: 'auto', hostConfig: true, verbose: false,
    });
  });

  it('collects repeated --addr and --host-addr in order', () => {
    const { opts } = parseOptions(['--addr', '198.18.1.2/24', '--addr=2001:db8:1::2/64', '--host-addr', '198.18.1.1/24', '--serve', 'http,echo', '--offload', 'off', '--no-host-config'], UP_OPTIONS);
    expect(opts.get('addr')).toEqual(['198.18.1.2/24', '2001:db8:1::2/64']);
    expect(upConfigFromOptions(opts)).toMatchObject({ addrs: ['198.18.1.2/24', '2001:db8:1::2/64'], hostAddrs: ['198.18.1.1/24'], serve: ['http', 'echo'], offload: 'off', hostConfig: false });
  });

  it('rejects bad values with a usage error', () => {
    const bad = [['--offload', 'yes'], ['--mtu', '1000'], ['--mtu', '1500.5'], ['--addr', 'x/24'], ['--addr', '198.18.0.2'], ['--tun', 'much-too-long-name0'], ['--serve', 'ftp'], ['--netns', 'a/b']];
    for (const args of bad) expect(() => upConfigFromOptions(parseOptions(args, UP_OPTIONS).opts), args.join(' ')).toThrow(UsageError);
    expect(() => parseOptions(['--mtu', '99999'], UP_OPTIONS)).toThrow(UsageError);
    // IPv4 only: a small MTU is fine.
    expect(upConfigFromOptions(parseOptions(['--mtu', '576', '--addr', '198.18.0.2/24', '--host-addr', '198.18.0.1/24'], UP_OPTIONS).opts).mtu).toBe(576);
  });

  it('parses service lists', () => {
    expect(parseServeList('all')).toEqual(['echo', 'discard', 'chargen', 'http']);
    expect(parseServeList('none')).toEqual([]);
    expect(parseServeList(' echo , echo,http')).toEqual(['echo', 'http']);
    expect(() => parseServeList('echo,gopher')).toThrow(/gopher/);
  });
});

describe('TUN open errors', () => {
  it('is one line naming the fix', () => {
    const cases: [object, RegExp][] = [
      [{ code: 'ENOENT', syscall: 'open' }, /modprobe tun/],
      [{ code: 'EPERM', syscall: 'TUNSETIFF' }, /needs CAP_NET_ADMIN.*sudo/],
      [{ code: 'EBUSY', syscall: 'TUNSETIFF' }, /in use.*--tun NAME/],
      [{ code: 'EINVAL', syscall: 'TUNSETIFF' }, /--tun NAME/],
    ];
    for (const [e, re] of cases) {
      const t = describeOpenError(e, 'tunstack0');
      expect(t.message).toMatch(re);
      expect(t.message).not.toContain('\n');
    }
  });
});

describe('chargen', () => {
  it('follows RFC 864: 72 characters per line, each line starting one character later', () => {
    const p = chargenPattern();
    const text = new TextDecoder('latin1').decode(p.subarray(0, 2 * CHARGEN_CYCLE));
    const lines = text.split('\r\n');
    expect(lines[0]).toBe(' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg');
    expect(lines[1]).toBe('!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh');
    expect(lines[95]).toBe(lines[0]);
    expect(lines.slice(0, 190).every((l) => l.length === 72)).toBe(true);
  });
});
