// ICMP errors across two stacks reach the socket they quote: a connected UDP socket that sends to
// a closed port gets ECONNREFUSED once (XNU udp_ctlinput, xnu-sockets.md §8); an unconnected one
// does not. Both families.

import { describe, expect, it } from 'vitest';
import { buildSimWorld } from '../../tools/sim-world.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import { soconnect, soclose } from '../../stack/socket/so-ops.js';
import { sosend } from '../../stack/socket/so-send.js';
import { AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_STREAM } from '../../stack/socket/constants.js';
import { ECONNREFUSED, ENETUNREACH } from '../../stack/errno.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';

const SEED = Number(process.env.SIM_SEED ?? 77);

describe(`ICMP port unreachable between two stacks (seed ${SEED})`, () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: a connected UDP socket gets ECONNREFUSED once; an unconnected one gets nothing`, () => {
      const world = buildSimWorld({ seed: SEED, impairments: { delayMs: 2 } });
      const { a, b, sim } = world;
      const af = family === 4 ? AF_INET : AF_INET6;
      const dst = encodeSockaddr({ addr: family === 4 ? b.v4 : b.v6, port: 9999 });
      const sent = { value: 0 };

      const conn = a.stack.sockets.socreate(af, SOCK_DGRAM, IPPROTO_UDP);
      const loose = a.stack.sockets.socreate(af, SOCK_DGRAM, IPPROTO_UDP);
      if (!conn.ok || !loose.ok) throw new Error('socreate');
      expect(soconnect(conn.value, dst, sim.now)).toBe(0);
      expect(sosend(conn.value, null, [new Uint8Array(10)], null, null, 0, sim.now, sent)).toBe(0);
      expect(sosend(loose.value, dst, [new Uint8Array(10)], null, null, 0, sim.now, sent)).toBe(0);
      sim.runFor(50);

      const unreachOut = family === 4
        ? b.stack.ip.icmpstat.icps_outhist[3]
        : b.stack.ip.icmp6stat.icp6s_outhist[1];
      expect(unreachOut).toBe(2);
      expect(b.stack.udp.stats.udps_noport).toBe(2);
      expect(conn.value.so_error).toBe(ECONNREFUSED);
      expect(loose.value.so_error).toBe(0);
      // One-shot: the next send reports it and clears it; the one after succeeds.
      expect(sosend(conn.value, null, [new Uint8Array(1)], null, null, 0, sim.now, sent)).toBe(ECONNREFUSED);
      expect(conn.value.so_error).toBe(0);
      expect(sosend(conn.value, null, [new Uint8Array(1)], null, null, 0, sim.now, sent)).toBe(0);
      soclose(conn.value, sim.now);
      soclose(loose.value, sim.now);
    });
  }
});

describe('connecting without a route', () => {
  it('fails at once with ENETUNREACH for UDP and TCP, both families (XNU in_pcbladdr)', () => {
    const world = buildSimWorld({ seed: SEED });
    const now = world.sim.now;
    for (const [af, addr] of [[AF_INET, '198.19.7.7'], [AF_INET6, '2001:db8:ffff::7']] as const) {
      for (const [type, proto] of [[SOCK_DGRAM, IPPROTO_UDP], [SOCK_STREAM, IPPROTO_TCP]] as const) {
        const r = world.a.stack.sockets.socreate(af, type, proto);
        if (!r.ok) throw new Error('socreate');
        expect([addr, type, soconnect(r.value, encodeSockaddr({ addr: IpAddr.of(addr), port: 80 }), now)]).toEqual([addr, type, ENETUNREACH]);
        soclose(r.value, now);
      }
    }
  });
});
