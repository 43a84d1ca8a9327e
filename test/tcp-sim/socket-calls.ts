// Direct socket calls for the lifecycle suites (exact errno sequences), and small scenario steps:
// an established pair of Connector apps, a tcpcb's state name, and the transmit times of a port.

import { expect } from 'vitest';
import type { SimWorld } from '../../tools/sim-world.js';
import type { Socket } from '../../stack/socket/socket.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { MSG_DONTWAIT, SS_ISCONNECTED } from '../../stack/socket/constants.js';
import type { IpFamily } from '../../stack/wire/ip-addr.js';
import { Connector, connect, listen } from './apps.js';
import type { Acceptor, StreamEndpoint } from './apps.js';
import { countersSummary, sa, stateName, tcpcbOf } from './harness.js';

export const PORT = 5001;

const rbuf = new Uint8Array(65536);
const rmsg = new SoRecvMsg();

/** One nonblocking receive: the errno, and the bytes (0 with errno 0 is EOF). */
export function recv(w: SimWorld, so: Socket): { e: number; n: number } {
  const e = soreceive(so, [rbuf], MSG_DONTWAIT, rmsg, w.sim.now);
  return { e, n: e === 0 ? rmsg.len : -1 };
}

export function send(w: SimWorld, so: Socket, n: number): { e: number; sent: number } {
  const box = { value: 0 };
  const e = sosend(so, null, [new Uint8Array(n).fill(0x5a)], null, null, 0, w.sim.now, box);
  return { e, sent: box.value };
}

/** An established connection a → b with Connector apps (they never read or write by themselves). */
export function establish(
  w: SimWorld, family: IpFamily = 4, port = PORT, before?: (so: Socket) => void,
): { client: Connector; server: Connector; acceptor: Acceptor<Connector> } {
  const acceptor = listen(w.b.stack, { family, port }, (st, so) => new Connector(st, so));
  const client = connect(w.a.stack, { family, to: sa(w.b, family, port), before }, (st, so) => new Connector(st, so));
  const ok = w.sim.runUntil(() => client.connectErrno !== null && acceptor.apps.length > 0, 10_000);
  expect(ok, countersSummary(w)).toBe(true);
  expect(client.connectErrno).toBe(0);
  return { client, server: acceptor.apps[0]!, acceptor };
}

/** The state name of a socket's tcpcb. */
export const st = (e: StreamEndpoint): string => stateName(tcpcbOf(e.so));

/** Runs until the socket has a pending error or is disconnected. */
export function runUntilDisconnected(w: SimWorld, so: Socket, maxMs: number): boolean {
  return w.sim.runUntil(() => so.so_error !== 0 || (so.so_state & SS_ISCONNECTED) === 0, maxMs);
}

/** Virtual times (ms) at which host `h`'s port transmitted packets, until `untilMs` from now. */
export function txTimes(w: SimWorld, h: 'a' | 'b', untilMs: number, stop: () => boolean = () => false): number[] {
  const port = w.net.port(h);
  const out: number[] = [];
  const end = w.sim.now + untilMs * 1000;
  let seen = port.stats.txPackets;
  for (let i = 0; i < 100_000 && w.sim.now < end && !stop(); i++) {
    w.sim.runUntil(() => port.stats.txPackets !== seen || stop(), (end - w.sim.now) / 1000);
    for (; seen < port.stats.txPackets; seen++) out.push(w.sim.now / 1000);
  }
  return out;
}

