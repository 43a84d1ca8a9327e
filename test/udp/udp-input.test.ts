import { describe, expect, it } from 'vitest';
import { mToBytes } from '../../stack/mbuf/chain.js';
import { CSUM_DATA_VALID } from '../../stack/mbuf/constants.js';
import type { Socket } from '../../stack/socket/socket.js';
import { sobind, soclose, soconnect } from '../../stack/socket/so-ops.js';
import { sosetopt } from '../../stack/socket/so-options.js';
import { SoRecvMsg, soreceivembuf } from '../../stack/socket/so-receive.js';
import { SockOpt, sooptInt } from '../../stack/socket/sockopt.js';
import { formatSockaddr } from '../../stack/socket/sockaddr.js';
import { Ev } from '../../stack/socket/socket-events.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import {
  MSG_PEEK, MSG_RCVMORE, MSG_TRUNC, SOL_SOCKET, SO_DONTTRUNC, SO_RCVBUF, SO_REUSEADDR, SO_REUSEPORT,
} from '../../stack/socket/constants.js';
import { ECONNREFUSED, EHOSTUNREACH, EWOULDBLOCK } from '../../stack/socket/errno.js';
import { AF_INET6, bytes, fill, inject, packet, recv, sa, setup, udpSocket } from './helpers.js';
import type { Harness, PacketSpec } from './helpers.js';

const P: PacketSpec = { src: '198.18.0.1', dst: '198.18.0.2', sport: 4000, dport: 5000, payload: bytes() };

function bound(h: Harness, addr = '0.0.0.0:5000', opts = 0): Socket {
  const so = udpSocket(h, addr.startsWith('[') ? AF_INET6 : 2);
  so.so_options |= opts;
  expect(sobind(so, sa(addr))).toBe(0);
  return so;
}

describe('UDP input (udp_input, udp_append)', () => {
  it('queues [sender sockaddr][payload] without copying the payload, and wakes the reader', () => {
    const h = setup();
    const so = bound(h);
    const events: number[] = [];
    so.setListener({ onSocketEvent(_s, ev) { events.push(ev); } });
    const { m, info } = packet(h.ctx.pool, { ...P, payload: fill(300) });
    h.udp.input(m, info, 0);
    expect(so.so_rcv.sb_mb!.next).toBe(m); // the very mbuf IP handed over, headers trimmed
    expect(so.so_rcv.sb_cc).toBe(16 + 300);
    expect(so.counters.rxpackets).toBe(1);
    expect(so.counters.rxbytes).toBe(300);
    h.ctx.endOfEntry();
    expect(events).toEqual([Ev.In]);
    const r = recv(so);
    expect(r.e).toBe(0);
    expect(r.data).toEqual(fill(300));
    expect(r.msg.nameLen).toBe(16);
    expect(formatSockaddr(r.msg.name!)).toBe('198.18.0.1:4000');
    expect(recv(so).e).toBe(EWOULDBLOCK);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('a zero-length datagram returns 0 bytes with the address filled in', () => {
    const h = setup();
    const so = bound(h);
    inject(h, { ...P, payload: bytes() });
    inject(h, { ...P, payload: bytes(9) });
    const r = recv(so);
    expect(r.e).toBe(0);
    expect(r.msg.len).toBe(0);
    expect(r.msg.flags).toBe(0);
    expect(formatSockaddr(r.msg.name!)).toBe('198.18.0.1:4000');
    expect(Array.from(recv(so).data)).toEqual([9]); // the next call gets the next datagram
  });

  it('MSG_TRUNC discards the rest of a long datagram; SO_DONTTRUNC keeps it (MSG_RCVMORE)', () => {
    const h = setup();
    const so = bound(h);
    inject(h, { ...P, payload: fill(100) });
    inject(h, { ...P, payload: bytes(7) });
    let r = recv(so, 10);
    expect(r.msg.len).toBe(10);
    expect(r.msg.flags & MSG_TRUNC).toBe(MSG_TRUNC);
    expect(r.data).toEqual(fill(100).subarray(0, 10));
    r = recv(so, 10);
    expect(Array.from(r.data)).toEqual([7]);
    expect(r.msg.flags).toBe(0);
    sosetopt(so, SockOpt.set(SOL_SOCKET, SO_DONTTRUNC, sooptInt(1)));
    inject(h, { ...P, payload: fill(25) });
    r = recv(so, 10);
    expect(r.msg.flags & (MSG_RCVMORE | MSG_TRUNC)).toBe(MSG_RCVMORE);
    expect(r.msg.nameLen).toBe(16);
    r = recv(so, 10);
    expect(r.data).toEqual(fill(25).subarray(10, 20));
    expect(r.msg.nameLen).toBe(0); // the address went with the first part
    r = recv(so, 10);
    expect(r.data).toEqual(fill(25).subarray(20));
    expect(r.msg.flags).toBe(0);
    expect(so.so_rcv.sb_cc).toBe(0);
    expect(so.so_rcv.sbcheck()).toBeNull();
  });

  it('MSG_PEEK returns the datagram without dequeuing it', () => {
    const h = setup();
    const so = bound(h);
    inject(h, { ...P, payload: fill(40), split: true });
    const p1 = recv(so, 100, MSG_PEEK);
    expect(p1.data).toEqual(fill(40));
    const p2 = recv(so, 8, MSG_PEEK);
    expect(p2.msg.flags & MSG_TRUNC).toBe(MSG_TRUNC);
    expect(so.so_rcv.sb_cc).toBe(56);
    expect(recv(so).data).toEqual(fill(40));
    expect(so.so_rcv.sb_cc).toBe(0);
  });

  it('soreceivembuf moves whole mbufs and splits a partial one; MSG_PEEK links nothing', () => {
    const h = setup();
    const so = bound(h);
    inject(h, { ...P, payload: fill(3000), split: true });
    const msg = new SoRecvMsg();
    expect(soreceivembuf(so, 5000, MSG_PEEK, msg, 0)).toBe(0);
    expect(msg.len).toBe(3000);
    expect(msg.data).toBeNull();
    expect(soreceivembuf(so, 5000, 0, msg, 0)).toBe(0);
    expect(msg.len).toBe(3000);
    expect(mToBytes(msg.data)).toEqual(fill(3000));
    let m = msg.data;
    while (m !== null) m = m.pool.free(m);
    inject(h, { ...P, payload: fill(3000) });
    inject(h, { ...P, payload: bytes(1) });
    expect(soreceivembuf(so, 1000, 0, msg, 0)).toBe(0);
    expect(msg.len).toBe(1000);
    expect(msg.flags & MSG_TRUNC).toBe(MSG_TRUNC);
    expect(mToBytes(msg.data)).toEqual(fill(3000).subarray(0, 1000));
    m = msg.data;
    while (m !== null) m = m.pool.free(m);
    expect(recv(so).data).toEqual(bytes(1));
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('checksums: bad dropped (udps_badsum); zero accepted over IPv4, dropped over IPv6; CSUM_DATA_VALID trusted', () => {
    const h = setup();
    const so = bound(h);
    const so6 = bound(h, '[::]:5000');
    inject(h, { ...P, payload: fill(11), sum: 'bad' });
    expect(h.udp.stats.udps_badsum).toBe(1);
    inject(h, { ...P, payload: fill(11), sum: 'zero' });
    expect(h.udp.stats.udps_nosum).toBe(1);
    expect(recv(so).data).toEqual(fill(11));
    inject(h, { ...P, src: '2001:db8::1', dst: '2001:db8::2', payload: fill(11), sum: 'zero' });
    expect(h.udp.stats.udps_nosum6).toBe(1);
    expect(recv(so6).e).toBe(EWOULDBLOCK);
    inject(h, { ...P, src: '2001:db8::1', dst: '2001:db8::2', payload: fill(11), split: true });
    expect(recv(so6).data).toEqual(fill(11));
    const { m, info } = packet(h.ctx.pool, { ...P, payload: fill(5), sum: 'bad' });
    m.csumFlags |= CSUM_DATA_VALID;
    h.udp.input(m, info, 0);
    expect(recv(so).data).toEqual(fill(5));
    expect(h.udp.stats.udps_badsum).toBe(1);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('length checks: short header (udps_hdrops), UDP length beyond IP or below 8 (udps_badlen), trailer trimmed', () => {
    const h = setup();
    const so = bound(h);
    const { m, info } = packet(h.ctx.pool, { ...P, payload: bytes() });
    info.l4Len = 7;
    h.udp.input(m, info, 0);
    expect(h.udp.stats.udps_hdrops).toBe(1);
    inject(h, { ...P, payload: fill(10), ulen: 19 });
    inject(h, { ...P, payload: fill(10), ulen: 7 });
    expect(h.udp.stats.udps_badlen).toBe(2);
    inject(h, { ...P, payload: fill(10), trailer: 6 });
    const r = recv(so);
    expect(r.data).toEqual(fill(10));
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('no socket: ICMP port unreachable requested for unicast (udps_noport), silence for broadcast (udps_noportbcast)', () => {
    const h = setup();
    inject(h, { ...P, payload: bytes(1) });
    expect(h.udp.stats.udps_noport).toBe(1);
    expect(h.ip.icmp).toHaveLength(1);
    expect(h.ip.icmp[0]!.kind).toBe('port-unreach');
    expect(h.ip.icmp[0]!.bytes[0]).toBe(0x45); // the packet as delivered, IP header first
    inject(h, { ...P, dst: '255.255.255.255', payload: bytes(1) });
    expect(h.udp.stats.udps_noportbcast).toBe(1);
    expect(h.ip.icmp).toHaveLength(1);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('unicast goes to the best match: connected 4-tuple, then bound address, then wildcard', () => {
    const h = setup();
    const wild = bound(h, '0.0.0.0:5000', SO_REUSEADDR);
    const spec = bound(h, '198.18.0.2:5000', SO_REUSEADDR);
    const conn = udpSocket(h);
    conn.so_options |= SO_REUSEADDR | SO_REUSEPORT;
    spec.so_options |= SO_REUSEPORT;
    expect(sobind(conn, sa('198.18.0.2:5000'))).toBe(0);
    expect(soconnect(conn, sa('198.18.0.9:4000'), 0)).toBe(0);
    inject(h, { ...P, src: '198.18.0.9', payload: bytes(1) });
    inject(h, { ...P, payload: bytes(2) });
    inject(h, { ...P, dst: '198.18.0.200', payload: bytes(3) });
    expect(Array.from(recv(conn).data)).toEqual([1]);
    expect(Array.from(recv(spec).data)).toEqual([2]);
    expect(Array.from(recv(wild).data)).toEqual([3]);
    // A connected socket ignores other senders.
    expect(recv(conn).e).toBe(EWOULDBLOCK);
  });

  it('broadcast reaches every matching socket while they share the port (REUSEADDR/REUSEPORT)', () => {
    const h = setup();
    const a = bound(h, '0.0.0.0:5000', SO_REUSEPORT);
    const b = bound(h, '0.0.0.0:5000', SO_REUSEPORT);
    const c = bound(h, '198.18.0.255:5000', SO_REUSEPORT);
    inject(h, { ...P, dst: '198.18.0.255', bcast: true, payload: fill(64) });
    for (const so of [a, b, c]) expect(recv(so).data).toEqual(fill(64));
    inject(h, { ...P, dst: '255.255.255.255', payload: fill(5) });
    expect(recv(a).data).toEqual(fill(5));
    expect(recv(b).data).toEqual(fill(5));
    expect(recv(c).e).toBe(EWOULDBLOCK); // bound to another address
    expect(h.udp.stats.udps_delivered).toBe(5);
    // A socket without reuse options ends the search (XNU's heuristic).
    const h2 = setup();
    const x = bound(h2, '224.0.0.1:6000');
    const y = bound(h2, '0.0.0.0:6000', SO_REUSEADDR);
    inject(h2, { ...P, dport: 6000, dst: '224.0.0.1', payload: bytes(1) });
    expect(recv(x).e).toBe(0);
    expect(recv(y).e).toBe(EWOULDBLOCK);
    expect(h2.udp.stats.udps_delivered).toBe(1);
    for (const so of [a, b, c]) soclose(so, 0);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('a full receive buffer drops silently (udps_fullsock)', () => {
    const h = setup();
    const so = bound(h);
    sosetopt(so, SockOpt.set(SOL_SOCKET, SO_RCVBUF, sooptInt(100)));
    inject(h, { ...P, payload: fill(60) });
    inject(h, { ...P, payload: fill(60) });
    expect(h.udp.stats.udps_fullsock).toBe(1);
    expect(so.counters.rxdropped).toBe(1);
    expect(recv(so).data).toEqual(fill(60));
    expect(recv(so).e).toBe(EWOULDBLOCK);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('an IPv6 link-local sender gets the receiving interface as sin6_scope_id', () => {
    const h = setup();
    const so = bound(h, '[::]:5000');
    inject(h, { ...P, src: 'fe80::1', dst: 'fe80::2', ifindex: 3, payload: bytes(1) });
    const r = recv(so);
    expect(r.msg.nameLen).toBe(28);
    expect(formatSockaddr(r.msg.name!)).toBe('[fe80::1%3]:4000');
  });
});

describe('ICMP errors (udp_ctlinput)', () => {
  const ctl = (kind: 'unreach-port' | 'unreach-host' | 'needfrag' | 'time-exceeded', srcPort: number, mtu = 0) => ({
    family: 4 as const, kind, icmpType: 3, icmpCode: 3, mtu,
    src: IpAddr.of('198.18.0.2'), dst: IpAddr.of('198.18.0.1'), srcPort, dstPort: 53, quoted: new Uint8Array(8),
  });

  it('port unreachable on a connected socket: ECONNREFUSED once (then cleared), with a wakeup', () => {
    const h = setup();
    const so = udpSocket(h);
    sobind(so, sa('0.0.0.0:5000'));
    soconnect(so, sa('198.18.0.1:53'), 0);
    h.ctx.endOfEntry();
    const events: number[] = [];
    so.setListener({ onSocketEvent(_s, ev) { events.push(ev); } });
    h.udp.ctlinput(ctl('unreach-port', 5000), 0);
    h.ctx.endOfEntry();
    expect(events).toEqual([Ev.In | Ev.Out | Ev.Err]);
    expect(recv(so).e).toBe(ECONNREFUSED);
    expect(recv(so).e).toBe(EWOULDBLOCK);
    h.udp.ctlinput(ctl('unreach-host', 5000), 0);
    const sent = { value: 0 };
    void sent;
    expect(recv(so, 10, MSG_PEEK).e).toBe(EHOSTUNREACH); // peek leaves it
    expect(recv(so).e).toBe(EHOSTUNREACH);
    h.udp.ctlinput(ctl('needfrag', 5000, 1280), 0);
    expect(so.so_error).toBe(40);
    expect((so.so_pcb as { pmtu: number }).pmtu).toBe(1280);
    h.udp.ctlinput(ctl('time-exceeded', 5000), 0);
    expect(h.udp.stats.udps_ctlignored).toBe(1);
  });

  it('ignored for unconnected sockets', () => {
    const h = setup();
    const so = udpSocket(h);
    sobind(so, sa('0.0.0.0:5000'));
    h.udp.ctlinput(ctl('unreach-port', 5000), 0);
    expect(so.so_error).toBe(0);
    expect(h.udp.stats.udps_ctlignored).toBe(1);
  });
});
