import { describe, expect, it } from 'vitest';
import type { Socket } from '../../stack/socket/socket.js';
import { sobind, soclose, soconnect, sodisconnect, sogetpeername, sogetsockname, soshutdown } from '../../stack/socket/so-ops.js';
import { solisten } from '../../stack/socket/so-listen.js';
import { formatSockaddr } from '../../stack/socket/sockaddr.js';
import { SHUT_RD, SHUT_WR, SO_REUSEADDR, SO_REUSEPORT, SS_ISCONNECTED } from '../../stack/socket/constants.js';
import {
  EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EINVAL, EISCONN, ENOTCONN, EOPNOTSUPP, EPIPE,
} from '../../stack/socket/errno.js';
import { AF_INET6, bytes, sa, send, setup, udpSocket } from './helpers.js';
import type { Harness } from './helpers.js';

function name(so: Socket): string {
  const b = { value: null as Uint8Array | null };
  const e = sogetsockname(so, b);
  return e === 0 ? formatSockaddr(b.value!) : `errno ${e}`;
}
function peer(so: Socket): string {
  const b = { value: null as Uint8Array | null };
  const e = sogetpeername(so, b);
  return e === 0 ? formatSockaddr(b.value!) : `errno ${e}`;
}

function sock(h: Harness, opts = 0): Socket {
  const so = udpSocket(h);
  so.so_options |= opts;
  return so;
}

describe('UDP bind (in_pcbbind, §3.2 / §6.4)', () => {
  it('second bind is EINVAL, not EADDRINUSE; wrong sa_len EINVAL; wrong family EAFNOSUPPORT; foreign address EADDRNOTAVAIL', () => {
    const h = setup();
    const so = sock(h);
    expect(name(so)).toBe('0.0.0.0:0');
    const bad = sa('0.0.0.0:5000');
    bad[0] = 28;
    expect(sobind(so, bad)).toBe(EINVAL);
    bad[0] = 16;
    bad[1] = 5;
    expect(sobind(so, bad)).toBe(EAFNOSUPPORT);
    expect(sobind(so, sa('10.9.9.9:5000'))).toBe(EADDRNOTAVAIL);
    expect(sobind(so, sa('198.18.0.2:5000'))).toBe(0);
    expect(name(so)).toBe('198.18.0.2:5000');
    expect(sobind(so, sa('198.18.0.2:5001'))).toBe(EINVAL);
    expect(sobind(so, sa('0.0.0.0:5000'))).toBe(EINVAL);
    // Low ports need no privilege for in-kernel sockets; a subnet broadcast address is bindable.
    expect(sobind(sock(h), sa('0.0.0.0:53'))).toBe(0);
    expect(sobind(sock(h), sa('198.18.0.255:9'))).toBe(0);
    // IPv6 socket with an IPv4 sockaddr: sa_len 16 != 28.
    expect(sobind(udpSocket(h, AF_INET6), sa('0.0.0.0:1'))).toBe(EINVAL);
  });

  it('the SO_REUSEADDR / SO_REUSEPORT matrix', () => {
    const cases: [string, number, string, number, number][] = [
      // first bind, its options, second bind, its options, expected result of the second
      ['0.0.0.0:5000', 0, '0.0.0.0:5000', 0, EADDRINUSE],
      ['198.18.0.2:5000', 0, '0.0.0.0:5000', 0, EADDRINUSE],
      ['0.0.0.0:5000', 0, '198.18.0.2:5000', 0, EADDRINUSE],
      ['0.0.0.0:5000', 0, '198.18.0.2:5000', SO_REUSEADDR, 0], // exact lookup only
      ['198.18.0.2:5000', SO_REUSEADDR, '198.18.0.2:5000', SO_REUSEADDR, EADDRINUSE], // duplicates need REUSEPORT
      ['198.18.0.2:5000', SO_REUSEPORT, '198.18.0.2:5000', SO_REUSEPORT, 0],
      ['198.18.0.2:5000', 0, '198.18.0.2:5000', SO_REUSEPORT, EADDRINUSE], // every socket must have it
      ['198.18.0.2:5000', SO_REUSEPORT, '198.18.0.2:5000', 0, EADDRINUSE],
      ['0.0.0.0:5000', SO_REUSEPORT, '0.0.0.0:5000', SO_REUSEPORT, 0],
      ['224.0.0.251:5353', SO_REUSEADDR, '224.0.0.251:5353', SO_REUSEADDR, 0], // multicast: REUSEADDR = REUSEPORT
      ['224.0.0.251:5353', 0, '224.0.0.251:5353', SO_REUSEADDR, EADDRINUSE],
      ['198.18.0.2:5000', 0, '198.18.0.2:5001', 0, 0],
    ];
    for (const [a, ao, b, bo, want] of cases) {
      const h = setup();
      expect(sobind(sock(h, ao), sa(a))).toBe(0);
      expect([a, ao, b, bo, sobind(sock(h, bo), sa(b))]).toEqual([a, ao, b, bo, want]);
    }
  });

  it('a connected PCB on the port blocks a plain bind but not an SO_REUSEADDR one (like TIME_WAIT)', () => {
    const h = setup();
    const c = sock(h);
    sobind(c, sa('198.18.0.2:5000'));
    expect(soconnect(c, sa('198.18.0.1:53'), 0)).toBe(0);
    expect(sobind(sock(h), sa('198.18.0.2:5000'))).toBe(EADDRINUSE);
    expect(sobind(sock(h), sa('0.0.0.0:5000'))).toBe(EADDRINUSE);
    expect(sobind(sock(h, SO_REUSEADDR), sa('198.18.0.2:5000'))).toBe(0);
  });

  it('IPv4 and IPv6 PCBs on the same port do not conflict (no dual stack)', () => {
    const h = setup();
    expect(sobind(sock(h), sa('0.0.0.0:5000'))).toBe(0);
    expect(sobind(udpSocket(h, AF_INET6), sa('[::]:5000'))).toBe(0);
    expect(sobind(udpSocket(h, AF_INET6), sa('[::]:5000'))).toBe(EADDRINUSE);
  });

  it('port 0 picks an RFC 6056 ephemeral port in 49152-65535, deterministic per seed', () => {
    const ports = (seed: number): number[] => {
      const h = setup(seed);
      const out: number[] = [];
      for (let i = 0; i < 20; i++) {
        const so = sock(h);
        expect(sobind(so, sa('0.0.0.0:0'))).toBe(0);
        out.push(Number(name(so).split(':')[1]));
      }
      return out;
    };
    const a = ports(7);
    expect(ports(7)).toEqual(a);
    expect(ports(8)).not.toEqual(a);
    for (const p of a) {
      expect(p).toBeGreaterThanOrEqual(49152);
      expect(p).toBeLessThanOrEqual(65535);
    }
    expect(new Set(a).size).toBe(a.length);
  });

  it('an exhausted ephemeral range gives EADDRNOTAVAIL', () => {
    const h = setup(3, { pcb: { firstAuto: 50000, lastAuto: 50003 } });
    const got = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const so = sock(h);
      expect(sobind(so, sa('0.0.0.0:0'))).toBe(0);
      got.add(name(so));
    }
    expect(got).toEqual(new Set(['0.0.0.0:50000', '0.0.0.0:50001', '0.0.0.0:50002', '0.0.0.0:50003']));
    const so = sock(h);
    expect(sobind(so, sa('0.0.0.0:0'))).toBe(EADDRNOTAVAIL);
    expect(name(so)).toBe('0.0.0.0:0');
    // connect needs a port too.
    expect(soconnect(sock(h), sa('198.18.0.1:53'), 0)).toBe(EADDRNOTAVAIL);
  });
});

describe('UDP connect / disconnect / shutdown (§8, §3.3, §3.8)', () => {
  it('connect picks the source address and an ephemeral port and is connected at once', () => {
    const h = setup();
    const so = sock(h);
    expect(peer(so)).toBe(`errno ${ENOTCONN}`);
    expect(soconnect(so, sa('198.18.0.1:53'), 0)).toBe(0);
    expect(so.so_state & SS_ISCONNECTED).toBe(SS_ISCONNECTED);
    expect(peer(so)).toBe('198.18.0.1:53');
    expect(name(so)).toMatch(/^198\.18\.0\.2:(\d+)$/);
    expect(soconnect(sock(h), sa('198.18.0.1:0'), 0)).toBe(EADDRNOTAVAIL);
    h.ip.src4 = null;
    expect(soconnect(sock(h), sa('192.0.2.1:53'), 0)).toBe(51); // ENETUNREACH
  });

  it('a second connect dissolves the association and makes a new one; the protocol itself says EISCONN', () => {
    const h = setup();
    const so = sock(h);
    sobind(so, sa('0.0.0.0:6000'));
    expect(soconnect(so, sa('198.18.0.1:53'), 0)).toBe(0);
    expect(soconnect(so, sa('198.18.0.3:54'), 0)).toBe(0);
    expect(peer(so)).toBe('198.18.0.3:54');
    expect(name(so)).toBe('198.18.0.2:6000');
    expect(h.udp.usrreqs.pru_connect(so, sa('198.18.0.4:55'), 0)).toBe(EISCONN);
    expect(soconnect(so, sa('198.18.0.1:53', 0).subarray(0, 8), 0)).toBe(EINVAL);
  });

  it('disconnect forgets the peer and resets the local address to the wildcard, keeping the port', () => {
    const h = setup();
    const so = sock(h);
    expect(sodisconnect(so, 0)).toBe(ENOTCONN);
    soconnect(so, sa('198.18.0.1:53'), 0);
    const port = name(so).split(':')[1];
    expect(sodisconnect(so, 0)).toBe(0);
    expect(so.so_state & SS_ISCONNECTED).toBe(0);
    expect(name(so)).toBe(`0.0.0.0:${port}`);
    expect(peer(so)).toBe(`errno ${ENOTCONN}`);
  });

  it('shutdown: ENOTCONN unconnected and when repeated; SHUT_WR makes send EPIPE; listen is EOPNOTSUPP', () => {
    const h = setup();
    const so = sock(h);
    expect(soshutdown(so, SHUT_WR, 0)).toBe(ENOTCONN);
    expect(solisten(so, 5)).toBe(EOPNOTSUPP);
    soconnect(so, sa('198.18.0.1:53'), 0);
    expect(soshutdown(so, SHUT_WR, 0)).toBe(0);
    expect(soshutdown(so, SHUT_WR, 0)).toBe(ENOTCONN);
    expect(send(so, bytes(1))).toBe(EPIPE);
    expect(soshutdown(so, SHUT_RD, 0)).toBe(0);
    expect(soshutdown(so, SHUT_RD, 0)).toBe(ENOTCONN);
  });

  it('closing frees the PCB and the port', () => {
    const h = setup();
    const a = sock(h);
    sobind(a, sa('0.0.0.0:7000'));
    soconnect(a, sa('198.18.0.1:53'), 0);
    expect(h.udp.pcbs.size).toBe(1);
    soclose(a, 0);
    expect(h.udp.pcbs.size).toBe(0);
    expect(h.layer.stats.active).toBe(0);
    expect(sobind(sock(h), sa('0.0.0.0:7000'))).toBe(0);
  });
});
