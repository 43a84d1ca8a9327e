// The embedding example of README.md, kept runnable: if this test changes, change README too.
import { expect, it } from 'vitest';
import {
  Stack, simEnv, Simulation, MemoryLinkPair, IpCidr, IpAddr, encodeSockaddr, sobind, sosend, soreceive,
  SoRecvMsg, AF_INET, SOCK_DGRAM, IPPROTO_UDP, MSG_DONTWAIT,
} from '../../stack/index.js';

it('README example: two stacks, a UDP datagram from one to the other', () => {
  const sim = new Simulation({ seed: 1 });
  const wire = new MemoryLinkPair();
  const a = new Stack({ env: simEnv(1, sim.clock) });
  const b = new Stack({ env: simEnv(2, sim.clock) });
  a.addInterface(wire.a, { addrs: [IpCidr.of('198.18.0.1/24')] });
  b.addInterface(wire.b, { addrs: [IpCidr.of('198.18.0.2/24')] });
  sim.add(wire); sim.add(a); sim.add(b);

  const server = b.sockets.socreate(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  const client = a.sockets.socreate(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
  if (!server.ok || !client.ok) throw new Error('socreate failed');
  sobind(server.value, encodeSockaddr({ addr: IpAddr.ANY4, port: 9000 }));

  const to = encodeSockaddr({ addr: IpAddr.of('198.18.0.2'), port: 9000 });
  const sent = { value: 0 };
  sosend(client.value, to, [new TextEncoder().encode('hello')], null, null, 0, sim.now, sent);
  sim.runUntilIdle(1000);

  const buf = new Uint8Array(100);
  const msg = new SoRecvMsg();
  msg.name = new Uint8Array(16);
  const err = soreceive(server.value, [buf], MSG_DONTWAIT, msg, sim.now);
  expect(err).toBe(0);
  expect(new TextDecoder().decode(buf.subarray(0, msg.len))).toBe('hello');
});
