// disconnectx, peeloff, getassocids, getconnids and getconninfo (xnu-sockets.md §10.2, §10.3,
// §10.6) for TCP and UDP sockets connected with connectx (or sock_connect), a datagram socket's
// connectx → disconnectx → connectx cycle, a stream socket's single connectx, and the association
// bookkeeping MPTCP will extend (connection IDs 1, 2, 3..., never 0, ALL or reused; associd).

import { describe, expect, it } from 'vitest';
import {
  ASSOCID_ALL, ASSOCID_ANY, AssocTable, Association, CIAUX_TCP, CIF_BOUND_IF, CIF_BOUND_IP, CIF_BOUND_PORT,
  CIF_CONNECTED, CIF_PREFERRED, CONNID_ALL, CONNID_ANY, EBADF, ECONNREFUSED, EINVAL, EISCONN, ENOTCONN,
  ENOTSOCK, EOPNOTSUPP, SOCK_DGRAM, TCPI_OPT_SACK, TCPI_OPT_TIMESTAMPS, TCPI_OPT_WSCALE, connectx, disconnectx, getassocids, getconnids, getconninfo, peeloff, readSockaddr,
  sock_close, sock_getsockname, sock_isconnected, sock_send, newMsghdr, sockaddrIn, SAE_CONNID_ALL, SAE_CONNID_ANY,
} from '../../kpi/index.js';
import type { Box, conninfo_tcp, socket_t } from '../../kpi/index.js';
import { TCPS_ESTABLISHED, TCPS_FIN_WAIT_1 } from '../../stack/index.js';
import { addrB, kpiWorld, listener, raw, run, runFor, sock, tcpPair, PORT } from './kpi-harness.js';

const fmt = (sa: Uint8Array | null): string => {
  if (sa === null) return 'null';
  const r = readSockaddr(sa);
  return r.ok ? `${r.value.addr.family === 6 ? `[${r.value.addr.toString()}]` : r.value.addr.toString()}:${r.value.port}` : '?';
};

interface Info {
  e: number; flags: number; ifindex: number; error: number; src: string; dst: string; auxType: number;
  aux: conninfo_tcp | null;
}
function info(s: socket_t | null, cid = CONNID_ANY): Info {
  const flags = { value: -1 }, ifindex = { value: -1 }, error = { value: -1 }, auxType = { value: -1 };
  const src: Box<Uint8Array | null> = { value: null }, dst: Box<Uint8Array | null> = { value: null };
  const aux: Box<conninfo_tcp | null> = { value: null };
  const e = getconninfo(s, cid, flags, ifindex, error, src, dst, auxType, aux);
  return { e, flags: flags.value, ifindex: ifindex.value, error: error.value, src: fmt(src.value), dst: fmt(dst.value), auxType: auxType.value, aux: aux.value };
}
function connids(s: socket_t | null, aid = ASSOCID_ANY): [number, number, number[] | null] {
  const cnt = { value: -1 };
  const ids: Box<number[] | null> = { value: null };
  const e = getconnids(s, aid, cnt, ids);
  return [e, cnt.value, ids.value];
}
function associds(s: socket_t | null): [number, number, number[] | null] {
  const cnt = { value: -1 };
  const ids: Box<number[] | null> = { value: null };
  const e = getassocids(s, cnt, ids);
  return [e, cnt.value, ids.value];
}
const cx = (s: socket_t, dst: Uint8Array, src: Uint8Array | null = null, ifscope = 0, cid: Box<number> | null = null) =>
  connectx(s, src, src?.length ?? 0, dst, dst.length, ifscope, ASSOCID_ANY, cid);

describe('TCP: connectx, the identifiers, getconninfo, disconnectx', () => {
  it('before connecting: no association, no connection, getconninfo of the unconnected PCB', () => {
    const kw = kpiWorld();
    const s = sock(kw.ka);
    expect(associds(s)).toEqual([0, 0, []]);
    expect(connids(s)).toEqual([0, 0, []]);
    const i = info(s);
    expect([i.e, i.flags, i.ifindex, i.error, i.src, i.dst, i.auxType]).toEqual([0, 0, 0, 0, '0.0.0.0:0', '0.0.0.0:0', CIAUX_TCP]);
    expect(i.aux!.tcpci_tcp_info.tcpi_state).toBe(0);
  });

  it('connected with source, port and ifscope: flags, interface, addresses, TCP aux info', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 5 } });
    listener(kw);
    const s = sock(kw.ka);
    const cid = { value: 0 };
    expect(await run(kw, cx(s, addrB(kw), sockaddrIn('198.18.0.1', 41000), 1, cid))).toBe(0);
    expect(cid.value).toBe(1);
    expect(associds(s)).toEqual([0, 0, []]); // "INPCB has no concept of association"
    expect(connids(s)).toEqual([0, 1, [1]]);
    expect(connids(s, ASSOCID_ALL)).toEqual([0, 1, [1]]);
    for (const c of [CONNID_ANY, CONNID_ALL, 1]) {
      const i = info(s, c);
      expect(i.e).toBe(0);
      expect(i.flags).toBe(CIF_CONNECTED | CIF_PREFERRED | CIF_BOUND_IF | CIF_BOUND_IP | CIF_BOUND_PORT);
      expect([i.ifindex, i.error, i.src, i.dst, i.auxType]).toEqual([1, 0, '198.18.0.1:41000', `198.18.0.2:${PORT}`, CIAUX_TCP]);
      const ti = i.aux!.tcpci_tcp_info;
      expect(ti.tcpi_state).toBe(TCPS_ESTABLISHED);
      expect(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE)).toBe(TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
      expect(ti.tcpi_snd_mss).toBeGreaterThan(1000);
      expect(ti.tcpi_srtt).toBeGreaterThanOrEqual(9); // one 10 ms round trip
      expect(ti.tcpi_snd_cwnd).toBeGreaterThan(0);
      expect(ti.tcpi_last_outif).toBe(1);
      expect(i.aux!.tcpci_peer_pid).toBe(0);
    }
    expect(info(s, 2).e).toBe(EINVAL);
    expect(connids(s, 3)[0]).toBe(EINVAL);
  });

  it('connected without source or ifscope: CONNECTED | PREFERRED only (address and port chosen by connect)', async () => {
    const kw = kpiWorld();
    listener(kw);
    const s = sock(kw.ka);
    expect(await run(kw, cx(s, addrB(kw)))).toBe(0);
    const i = info(s);
    expect(i.flags).toBe(CIF_CONNECTED | CIF_PREFERRED);
    expect(i.src.startsWith('198.18.0.1:')).toBe(true);
  });

  it('a socket connected with sock_connect reports the same way (in_getconnids reads SS_ISCONNECTED)', async () => {
    const kw = kpiWorld();
    const { client, server } = await tcpPair(kw);
    expect(connids(client)).toEqual([0, 1, [1]]);
    expect(connids(server)).toEqual([0, 1, [1]]);
    expect(info(server).flags & CIF_CONNECTED).toBe(CIF_CONNECTED);
  });

  it('disconnectx: EINVAL for an associd other than ANY/ALL; FIN; then connectx again is EISCONN', async () => {
    const kw = kpiWorld();
    listener(kw);
    const s = sock(kw.ka);
    expect(await run(kw, cx(s, addrB(kw)))).toBe(0);
    expect(disconnectx(s, 7, CONNID_ANY)).toBe(EINVAL);
    expect(disconnectx(s, ASSOCID_ANY, 42)).toBe(0); // TCP ignores the connid
    expect(raw(s).so_state & 0x8).toBe(0x8); // SS_ISDISCONNECTING
    expect(info(s).aux!.tcpci_tcp_info.tcpi_state).toBe(TCPS_FIN_WAIT_1);
    expect(cx(s, addrB(kw))).toBe(EISCONN);
    await runFor(kw, 100);
    expect(sock_isconnected(s)).toBe(0);
    expect(connids(s)).toEqual([0, 0, []]);
    expect(cx(s, addrB(kw))).toBe(EISCONN); // a stream socket connects only once
    expect(disconnectx(s, ASSOCID_ALL, CONNID_ALL)).toBe(0);
  });

  it('disconnectx before ESTABLISHED closes the attempt; after a refused connect the PCB is dead: EINVAL', async () => {
    const kw = kpiWorld({ impairments: { delayMs: 20 } });
    listener(kw);
    const s = sock(kw.ka);
    const p = cx(s, addrB(kw));
    await runFor(kw, 5);
    expect(disconnectx(s, ASSOCID_ANY, 1)).toBe(0);
    expect(raw(s).so_state & 0x4).toBe(0); // no longer connecting
    await run(kw, p);
    const r = sock(kw.ka);
    expect(await run(kw, cx(r, addrB(kw, 9)))).toBe(ECONNREFUSED);
    // tcp_close released the PCB: COMMON_START's EINVAL, for getconnids and getconninfo too
    expect(disconnectx(r, ASSOCID_ANY, CONNID_ANY)).toBe(EINVAL);
    expect(connids(r)[0]).toBe(EINVAL);
    expect(info(r).e).toBe(EINVAL);
    expect(cx(r, addrB(kw))).toBe(EINVAL); // and connectx, as tcp_usr_connect
  });
});

describe('UDP: connectx → disconnectx → connectx', () => {
  it('reassociates after disconnectx; ENOTCONN when not connected; identifiers follow the association', async () => {
    const kw = kpiWorld();
    const u = sock(kw.ka, SOCK_DGRAM);
    expect(disconnectx(u, ASSOCID_ANY, CONNID_ANY)).toBe(ENOTCONN);
    const cid = { value: 0 };
    expect(cx(u, addrB(kw, 53), sockaddrIn('198.18.0.1', 5353), 0, cid)).toBe(0);
    expect(cid.value).toBe(1);
    let i = info(u);
    expect([i.flags, i.src, i.dst, i.auxType, i.aux, i.ifindex]).toEqual(
      [CIF_CONNECTED | CIF_PREFERRED | CIF_BOUND_IP | CIF_BOUND_PORT, '198.18.0.1:5353', '198.18.0.2:53', 0, null, 1]);
    expect(connids(u)).toEqual([0, 1, [1]]);
    expect(cx(u, addrB(kw, 54))).toBe(EISCONN);
    expect(disconnectx(u, ASSOCID_ANY, CONNID_ANY)).toBe(0);
    expect(connids(u)).toEqual([0, 0, []]);
    i = info(u);
    expect([i.flags, i.src, i.dst]).toEqual([CIF_BOUND_PORT, '0.0.0.0:5353', '0.0.0.0:0']); // local address reset, port kept
    expect(disconnectx(u, ASSOCID_ANY, CONNID_ANY)).toBe(ENOTCONN);
    // again, to another peer: connid 1 again; the port stays, so a source bind would be EINVAL
    expect(cx(u, addrB(kw, 7), sockaddrIn('198.18.0.1', 5353))).toBe(EINVAL);
    expect(cx(u, addrB(kw, 7), null, 0, cid)).toBe(0);
    expect(cid.value).toBe(1);
    expect(info(u).dst).toBe('198.18.0.2:7');
    expect(info(u).src).toBe('198.18.0.1:5353');
    expect(connids(u)).toEqual([0, 1, [1]]);
    expect(disconnectx(u, 3, CONNID_ANY)).toBe(EINVAL);
  });

  it('getconninfo reports so_error without clearing it (ICMP port unreachable on the association)', async () => {
    const kw = kpiWorld();
    const u = sock(kw.ka, SOCK_DGRAM);
    expect(cx(u, addrB(kw, 9))).toBe(0);
    const sent = { value: 0 };
    expect(sock_send(u, newMsghdr([new Uint8Array(4)]), 0, sent)).toBe(0);
    await runFor(kw, 20);
    expect(info(u).error).toBe(ECONNREFUSED);
    expect(info(u).error).toBe(ECONNREFUSED);
    expect(raw(u).so_error).toBe(ECONNREFUSED);
  });

  it('IPv6: addresses are sockaddr_in6', async () => {
    const kw = kpiWorld();
    const u = sock(kw.ka, SOCK_DGRAM, 6);
    expect(cx(u, addrB(kw, 53, 6))).toBe(0);
    const i = info(u);
    expect(i.dst).toBe('[2001:db8::2]:53');
    expect(i.src.startsWith('[2001:db8::1]:')).toBe(true);
    const name = new Uint8Array(28);
    expect(sock_getsockname(u, name, 28)).toBe(0);
    expect(name[0]).toBe(28);
  });
});

describe('errors shared by the family', () => {
  it('EBADF / ENOTSOCK; EINVAL for null boxes; peeloff is EOPNOTSUPP on TCP and UDP', () => {
    const kw = kpiWorld();
    const t = sock(kw.ka);
    const u = sock(kw.ka, SOCK_DGRAM);
    const out: Box<socket_t | null> = { value: t };
    expect(peeloff(t, ASSOCID_ANY, out)).toBe(EOPNOTSUPP);
    expect(out.value).toBeNull();
    expect(peeloff(u, ASSOCID_ANY)).toBe(EOPNOTSUPP);
    expect(peeloff(null, ASSOCID_ANY)).toBe(EBADF);
    expect(disconnectx(null, ASSOCID_ANY, CONNID_ANY)).toBe(EBADF);
    expect(associds(null)[0]).toBe(EBADF);
    expect(connids(null)[0]).toBe(EBADF);
    expect(info(null).e).toBe(EBADF);
    expect(info(7 as unknown as socket_t).e).toBe(ENOTSOCK);
    expect(getassocids(t, null, { value: null })).toBe(EINVAL);
    expect(getconnids(t, ASSOCID_ANY, { value: 0 }, null)).toBe(EINVAL);
    sock_close(t);
    expect(info(t).e).toBe(EBADF);
    expect(disconnectx(t, ASSOCID_ANY, CONNID_ANY)).toBe(EBADF);
  });
});

describe('association bookkeeping (the shape MPTCP extends)', () => {
  it('non-multipath: one connection, always connid 1, no association ID', () => {
    const kw = kpiWorld();
    const so = raw(sock(kw.ka));
    const t = new AssocTable(so, false);
    expect(t.assoc.addConn(so, 0).connid).toBe(1);
    expect(t.assoc.addConn(so, 1).connid).toBe(1);
    expect(t.assoc.conns.length).toBe(1);
    expect(t.assoc.conns[0]!.ifscope).toBe(1);
    expect(t.associds()).toEqual([]);
  });

  it('multipath: connids 1, 2, 3... never reused, never ANY/ALL; associd set once established', () => {
    const kw = kpiWorld();
    const so = raw(sock(kw.ka));
    const t = new AssocTable(so, true);
    const a = t.assoc;
    expect([a.addConn(so, 1).connid, a.addConn(so, 2).connid, a.addConn(so, 1).connid]).toEqual([1, 2, 3]);
    expect(t.associds()).toEqual([]);
    expect(a.matches(ASSOCID_ANY) && a.matches(ASSOCID_ALL) && !a.matches(5)).toBe(true);
    a.establish(2);
    a.establish(3); // only the first establishment names the association
    expect(t.associds()).toEqual([2]);
    expect(a.matches(2)).toBe(true);
    expect(a.removeConn(2)).toBe(true);
    expect(a.removeConn(2)).toBe(false);
    expect(a.addConn(so, 0).connid).toBe(4);
    expect(a.conns.map((c) => c.connid)).toEqual([1, 3, 4]);
    expect(a.conn(3)?.ifscope).toBe(1);
    expect(a.conn(2)).toBeNull();
    // wrap-around skips SAE_CONNID_ALL and SAE_CONNID_ANY
    const w = new Association(null);
    (w as unknown as { connidLast: number }).connidLast = 0xfffffffe;
    expect([w.allocConnid(), w.allocConnid()]).toEqual([1, 2]);
    expect([SAE_CONNID_ANY, SAE_CONNID_ALL]).toEqual([0, 0xffffffff]);
  });
});
