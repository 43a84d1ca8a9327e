// Routing table: longest-prefix match, default routes, deterministic ties, interface state and
// scope, connected routes following interface addresses.

import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../stack/ip/route.js';
import { IpAddr, IpCidr } from '../../stack/wire/ip-addr.js';
import { EEXIST } from '../../stack/ip/route.js';
import { EADDRNOTAVAIL, EHOSTUNREACH, ENETUNREACH, ENXIO } from '../../stack/socket/errno.js';
import { host } from './helpers.js';

const a = (s: string) => IpAddr.of(s);
const c = (s: string) => IpCidr.of(s);

function table(down: number[] = []) {
  return new RouteTable({ ifUsable: (i) => i >= 1 && i <= 9 && !down.includes(i) });
}

describe('RouteTable', () => {
  it('picks the longest prefix, falling back to the default route (v4 and v6)', () => {
    const t = table();
    t.add({ dst: c('0.0.0.0/0'), ifindex: 1 });
    t.add({ dst: c('10.0.0.0/8'), ifindex: 2 });
    t.add({ dst: c('10.1.0.0/16'), ifindex: 3 });
    t.add({ dst: c('10.1.2.3/32'), ifindex: 4 });
    t.add({ dst: c('::/0'), ifindex: 5 });
    t.add({ dst: c('2001:db8::/32'), ifindex: 6 });
    t.add({ dst: c('2001:db8:1::/48'), ifindex: 7 });
    expect(t.lookupAddr(a('10.1.2.3'))!.ifindex).toBe(4);
    expect(t.lookupAddr(a('10.1.2.4'))!.ifindex).toBe(3);
    expect(t.lookupAddr(a('10.2.0.1'))!.ifindex).toBe(2);
    expect(t.lookupAddr(a('192.0.2.1'))!.ifindex).toBe(1);
    expect(t.lookupAddr(a('2001:db8:1::5'))!.ifindex).toBe(7);
    expect(t.lookupAddr(a('2001:db8:2::5'))!.ifindex).toBe(6);
    expect(t.lookupAddr(a('fd00::1'))!.ifindex).toBe(5);
    // Families never mix.
    const t4 = table();
    t4.add({ dst: c('0.0.0.0/0'), ifindex: 1 });
    expect(t4.lookupAddr(a('::1'))).toBeNull();
  });

  it('clears host bits and rejects exact duplicates', () => {
    const t = table();
    const r = t.add({ dst: c('10.1.2.3/24'), ifindex: 1 });
    expect(r).not.toBe(EEXIST);
    expect(t.list(4)[0]!.dst.toString()).toBe('10.1.2.0/24');
    expect(t.add({ dst: c('10.1.2.0/24'), ifindex: 1 })).toBe(EEXIST);
    expect(t.add({ dst: c('10.1.2.0/24'), ifindex: 2 })).not.toBe(EEXIST);
  });

  it('breaks ties by metric, then by insertion order', () => {
    const t = table();
    t.add({ dst: c('0.0.0.0/0'), ifindex: 3, metric: 10 });
    t.add({ dst: c('0.0.0.0/0'), ifindex: 2 });
    t.add({ dst: c('0.0.0.0/0'), ifindex: 1 });
    expect(t.lookupAddr(a('8.8.8.8'))!.ifindex).toBe(2);
    // Same metric: the earlier route wins; removing it exposes the next.
    t.remove(c('0.0.0.0/0'), 2);
    expect(t.lookupAddr(a('8.8.8.8'))!.ifindex).toBe(1);
    t.remove(c('0.0.0.0/0'), 1);
    expect(t.lookupAddr(a('8.8.8.8'))!.ifindex).toBe(3);
  });

  it('skips routes through unusable interfaces and honours ifscope', () => {
    const t = table([2]);
    t.add({ dst: c('10.0.0.0/24'), ifindex: 2 });
    t.add({ dst: c('10.0.0.0/16'), ifindex: 3 });
    t.add({ dst: c('0.0.0.0/0'), ifindex: 1 });
    expect(t.lookupAddr(a('10.0.0.9'))!.ifindex).toBe(3);
    expect(t.lookupAddr(a('10.0.0.9'), 1)!.ifindex).toBe(1);
    expect(t.lookupAddr(a('10.0.0.9'), 4)).toBeNull();
  });
});

describe('interfaces and connected routes', () => {
  it('adding and removing addresses adds and removes connected routes', () => {
    const h = host({ addrs: ['10.0.0.1/24', 'fd00::1/64'] });
    const ip = h.stack.ip;
    expect(ip.routes.lookupAddr(a('10.0.0.77'))!.connected).toBe(true);
    expect(ip.routes.lookupAddr(a('fd00::99'))!.ifindex).toBe(1);
    expect(ip.isLocalAddress(a('10.0.0.1'))).toBe(true);
    expect(ip.isLocalAddress(a('10.0.0.2'))).toBe(false);
    // A second address in the same prefix shares the route; removing one keeps it.
    expect(h.ifp.addAddress(c('10.0.0.5/24'))).toBe(0);
    expect(h.ifp.addAddress(c('10.0.0.5/24'))).toBe(EEXIST);
    expect(ip.routes.list(4).length).toBe(1);
    expect(h.ifp.removeAddress(a('10.0.0.1'))).toBe(0);
    expect(ip.routes.lookupAddr(a('10.0.0.77'))).not.toBeNull();
    expect(h.ifp.removeAddress(a('10.0.0.5'))).toBe(0);
    expect(ip.routes.lookupAddr(a('10.0.0.77'))).toBeNull();
    expect(h.ifp.removeAddress(a('10.0.0.5'))).toBe(EADDRNOTAVAIL);
    expect(ip.isLocalAddress(a('10.0.0.1'))).toBe(false);
    h.ifp.removeAddress(a('fd00::1'));
    expect(ip.routes.lookupAddr(a('fd00::99'))).toBeNull();
  });

  it('Stack.addRoute resolves the interface from a gateway and reports errors', () => {
    const h = host({ addrs: ['10.0.0.1/24'] });
    const s = h.stack;
    expect(s.addRoute('0.0.0.0/0', { gateway: '10.0.0.254' })).toBe(0);
    expect(s.ip.routes.lookupAddr(a('1.2.3.4'))!.gateway!.toString()).toBe('10.0.0.254');
    expect(s.addRoute('0.0.0.0/0', { gateway: '10.0.0.254' })).toBe(EEXIST);
    expect(s.addRoute('192.0.2.0/24', { gateway: '172.16.0.1' })).toBe(ENETUNREACH);
    expect(s.addRoute('192.0.2.0/24', { ifindex: 7 })).toBe(ENXIO);
    expect(s.addRoute('::/0', { ifname: 'cap0' })).toBe(0);
    expect(s.ip.routes.lookupAddr(a('2001:db8::1'))!.ifindex).toBe(1);
    expect(s.removeRoute('::/0')).toBe(0);
    expect(s.removeRoute('::/0')).not.toBe(0);
  });

  it('path MTU follows route MTU and the interface; output without a route is EHOSTUNREACH', () => {
    const h = host({ addrs: ['10.0.0.1/24'], mtu: 1400 });
    const s = h.stack;
    expect(s.ip.pathMtu(a('10.0.0.2'))).toBe(1400);
    expect(s.ip.pathMtu(a('192.0.2.1'))).toBe(0);
    s.addRoute('192.0.2.0/24', { ifindex: 1, mtu: 1280 });
    expect(s.ip.pathMtu(a('192.0.2.1'))).toBe(1280);
    expect(s.ip.pathMtu(a('10.0.0.1'))).toBe(16384);
    expect(s.ip.sendEcho(a('198.51.100.1'), 1, 1, new Uint8Array(4), h.now())).toBe(EHOSTUNREACH);
    expect(s.ip.ipstat.ips_noroute).toBe(1);
    // Down interface: its routes stop matching.
    h.ifp.up = false;
    expect(s.ip.pathMtu(a('10.0.0.2'))).toBe(0);
  });

  it('selects a source on the outgoing interface, same scope and longest match first', () => {
    const h = host({ addrs: ['10.0.0.1/24', '10.9.0.1/16', 'fe80::1/64', '2001:db8::1/64'] });
    const ip = h.stack.ip;
    h.stack.addRoute('0.0.0.0/0', { ifindex: 1 });
    h.stack.addRoute('::/0', { ifindex: 1 });
    expect(ip.selectSource(a('10.9.5.5'), 0)!.toString()).toBe('10.9.0.1');
    expect(ip.selectSource(a('8.8.8.8'), 0)!.toString()).toBe('10.0.0.1');
    expect(ip.selectSource(a('fe80::99'), 1)!.toString()).toBe('fe80::1');
    expect(ip.selectSource(a('2001:db8:5::1'), 0)!.toString()).toBe('2001:db8::1');
    expect(ip.selectSource(a('127.0.0.1'), 0)!.toString()).toBe('127.0.0.1');
    expect(ip.selectSource(a('10.0.0.1'), 0)!.toString()).toBe('10.0.0.1');
  });
});
