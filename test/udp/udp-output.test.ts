import { describe, expect, it } from 'vitest';
import { mFromBytes } from '../../stack/mbuf/chain.js';
import { sosend } from '../../stack/socket/so-send.js';
import { sobind, soconnect } from '../../stack/socket/so-ops.js';
import { sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, sooptInt } from '../../stack/socket/sockopt.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { IPPROTO_UDP, SOL_SOCKET, SO_BROADCAST, SO_SNDBUF } from '../../stack/socket/constants.js';
import {
  EACCES, EADDRNOTAVAIL, EDESTADDRREQ, EHOSTUNREACH, EISCONN, EMSGSIZE, ENOBUFS,
} from '../../stack/socket/errno.js';
import { UDP_NOCKSUM } from '../../stack/udp/udp.js';
import { AF_INET6, bytes, checksumOk, fill, onesSum, parseUdp, pseudo, sa, send, setup, udpSocket } from './helpers.js';

const LOCAL = IpAddr.of('198.18.0.2');
const PEER = IpAddr.of('198.18.0.1');

describe('UDP output (udp_output, §5.1 item 6)', () => {
  it('sendto builds the header in the leading space with a valid checksum and hands IP the addresses', () => {
    const h = setup();
    const so = udpSocket(h);
    sobind(so, sa('0.0.0.0:5000'));
    expect(send(so, fill(100), '198.18.0.1:53')).toBe(0);
    const d = h.ip.sent[0]!;
    expect(d.chainLength).toBe(1); // header prepended into the payload mbuf, no extra mbuf
    const u = parseUdp(d.bytes);
    expect(u).toMatchObject({ sport: 5000, dport: 53, ulen: 108 });
    expect(u.payload).toEqual(fill(100));
    expect(checksumOk(LOCAL, PEER, d.bytes)).toBe(true);
    expect(d.p.src.equals(LOCAL)).toBe(true);
    expect(d.p.dst.equals(PEER)).toBe(true);
    expect(d.p.protocol).toBe(IPPROTO_UDP);
    expect(d.p.ttl).toBe(64);
    expect(h.udp.stats.udps_opackets).toBe(1);
    expect(so.counters.txpackets).toBe(1);
    expect(so.counters.txbytes).toBe(100);
  });

  it('an unbound sendto gets an ephemeral port and stays bound to the wildcard address', () => {
    const h = setup();
    const so = udpSocket(h);
    expect(send(so, bytes(1), '198.18.0.1:53')).toBe(0);
    const port = parseUdp(h.ip.sent[0]!.bytes).sport;
    expect(port).toBeGreaterThanOrEqual(49152);
    expect(send(so, bytes(2), '198.18.0.3:53')).toBe(0);
    expect(parseUdp(h.ip.sent[1]!.bytes).sport).toBe(port);
  });

  it('a computed checksum of 0 is sent as 0xffff; UDP_NOCKSUM sends 0 over IPv4', () => {
    const h = setup();
    const so = udpSocket(h);
    sobind(so, sa('0.0.0.0:5000'));
    // Choose a 2-byte payload that makes the one's-complement sum 0xffff, i.e. checksum 0.
    const hdr = new Uint8Array(10);
    hdr.set([0x13, 0x88, 0, 53, 0, 10, 0, 0, 0, 0]);
    const ps = pseudo(LOCAL, PEER, 10);
    const all = new Uint8Array(ps.length + 10);
    all.set(ps); all.set(hdr, ps.length);
    const need = 0xffff - onesSum(all);
    expect(send(so, bytes(need >> 8, need & 0xff), '198.18.0.1:53')).toBe(0);
    expect(parseUdp(h.ip.sent[0]!.bytes).sum).toBe(0xffff);
    expect(checksumOk(LOCAL, PEER, h.ip.sent[0]!.bytes)).toBe(true);
    expect(sosetopt(so, SockOpt.set(IPPROTO_UDP, UDP_NOCKSUM, sooptInt(1)))).toBe(0);
    send(so, bytes(1, 2, 3), '198.18.0.1:53');
    expect(parseUdp(h.ip.sent[1]!.bytes).sum).toBe(0);
  });

  it('IPv6 datagrams always carry a checksum (UDP_NOCKSUM is IPv4-only)', () => {
    const h = setup();
    const so = udpSocket(h, AF_INET6);
    expect(sosetopt(so, SockOpt.set(IPPROTO_UDP, UDP_NOCKSUM, sooptInt(1)))).toBe(22);
    expect(send(so, fill(33), '[2001:db8::1]:53')).toBe(0);
    const d = h.ip.sent[0]!;
    expect(parseUdp(d.bytes).sum).not.toBe(0);
    expect(checksumOk(IpAddr.of('2001:db8::2'), IpAddr.of('2001:db8::1'), d.bytes)).toBe(true);
    expect(d.p.ttl).toBe(0); // the stack's default hop limit
  });

  it('EDESTADDRREQ without an address when unconnected; EISCONN with one when connected', () => {
    const h = setup();
    const so = udpSocket(h);
    expect(send(so, bytes(1))).toBe(EDESTADDRREQ);
    soconnect(so, sa('198.18.0.1:53'), 0);
    expect(send(so, bytes(1), '198.18.0.1:53')).toBe(EISCONN);
    expect(send(so, bytes(1))).toBe(0);
    expect(parseUdp(h.ip.sent[0]!.bytes).dport).toBe(53);
  });

  it('EMSGSIZE above SO_SNDBUF (9216 by default) and above 65535 - 28; never EWOULDBLOCK', () => {
    const h = setup();
    const so = udpSocket(h);
    expect(send(so, new Uint8Array(9216), '198.18.0.1:53')).toBe(0);
    expect(send(so, new Uint8Array(9217), '198.18.0.1:53')).toBe(EMSGSIZE);
    expect(sosetopt(so, SockOpt.set(SOL_SOCKET, SO_SNDBUF, sooptInt(70000)))).toBe(0);
    expect(send(so, new Uint8Array(65507), '198.18.0.1:53')).toBe(0);
    expect(send(so, new Uint8Array(65508), '198.18.0.1:53')).toBe(EMSGSIZE);
    expect(h.udp.stats.udps_otoobig).toBe(1);
    expect(parseUdp(h.ip.sent[1]!.bytes).payload).toEqual(new Uint8Array(65507));
    // Many sends in a row: UDP keeps nothing in so_snd, so there is never back-pressure from space.
    for (let i = 0; i < 100; i++) expect(send(so, new Uint8Array(9000), '198.18.0.1:53')).toBe(0);
    expect(so.so_snd.sb_cc).toBe(0);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('broadcast needs SO_BROADCAST (EACCES), which is then passed to IP', () => {
    const h = setup();
    const so = udpSocket(h);
    expect(send(so, bytes(1), '255.255.255.255:67')).toBe(EACCES);
    expect(send(so, bytes(1), '198.18.0.255:67')).toBe(EACCES);
    expect(h.udp.stats.udps_obroadcast).toBe(2);
    sosetopt(so, SockOpt.set(SOL_SOCKET, SO_BROADCAST, sooptInt(1)));
    expect(send(so, bytes(1), '255.255.255.255:67')).toBe(0);
    expect(h.ip.sent[0]!.p.allowBroadcast).toBe(true);
  });

  it('errors from IP are returned (ENOBUFS, EHOSTUNREACH); sendto port 0 is EADDRNOTAVAIL', () => {
    const h = setup();
    const so = udpSocket(h);
    h.ip.nextError = ENOBUFS;
    expect(send(so, bytes(1), '198.18.0.1:53')).toBe(ENOBUFS);
    h.ip.nextError = EHOSTUNREACH;
    expect(send(so, bytes(1), '198.18.0.1:53')).toBe(EHOSTUNREACH);
    expect(h.udp.stats.udps_oerrors).toBe(2);
    expect(send(so, bytes(1), '198.18.0.1:0')).toBe(EADDRNOTAVAIL);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('sock_sendmbuf path: the caller chain is sent as is (atomic, length from its packet header)', () => {
    const h = setup();
    const so = udpSocket(h);
    const m = mFromBytes(h.ctx.pool, fill(500), 64)!;
    const sent = { value: 0 };
    expect(sosend(so, sa('198.18.0.1:53'), null, m, null, 0, 0, sent)).toBe(0);
    expect(sent.value).toBe(500);
    expect(h.ip.sent[0]!.chainLength).toBe(1);
    expect(parseUdp(h.ip.sent[0]!.bytes).payload).toEqual(fill(500));
    // Over SO_SNDBUF: EMSGSIZE and the chain is freed.
    const big = mFromBytes(h.ctx.pool, new Uint8Array(10000))!;
    expect(sosend(so, sa('198.18.0.1:53'), null, big, null, 0, 0, sent)).toBe(EMSGSIZE);
    expect(big.freed).toBe(true);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });
});
