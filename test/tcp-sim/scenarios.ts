// Reusable TCP scenarios for the suites in this folder: one connection between host a (client)
// and host b (server) moving seeded byte streams in either or both directions, with both ends
// closing gracefully, and the end-of-run checks (byte-exact delivery, final states, no leaks).

import type { SimWorld } from '../../tools/sim-world.js';
import type { Impairments } from '../../stack/link/sim-network.js';
import type { LinkCaps } from '../../stack/link/link.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import type { IpFamily } from '../../stack/wire/ip-addr.js';
import { BulkEndpoint, connect, listen, streamDigest } from './apps.js';
import type { Acceptor, BulkOptions } from './apps.js';
import { sa, stateName, tcpcbOf, tcpPcbCount, tcpWorld } from './harness.js';
import type { TcpcbLike } from './harness.js';

export interface TransferSpec {
  readonly seed: number;
  readonly family?: IpFamily;
  readonly impairments?: Impairments;
  readonly mtu?: number;
  readonly caps?: Partial<LinkCaps>;
  readonly profile?: TcpProfile;
  /** Bytes the client (a) sends to the server (b). */
  readonly aToB: number;
  /** Bytes the server (b) sends to the client (a). */
  readonly bToA: number;
  /** Virtual-time bound of the whole exchange (default 600 s). */
  readonly maxMs?: number;
  /** Make the receiving side of a→b (the server) read only `bytes` every `everyMs` ms. */
  readonly slowServer?: { readonly bytes: number; readonly everyMs: number };
  readonly port?: number;
}

export interface TransferRun {
  readonly world: SimWorld;
  readonly client: BulkEndpoint;
  readonly server: BulkEndpoint | null;
  readonly acceptor: Acceptor<BulkEndpoint>;
  /** tcpcbs captured once connected (they outlive the sockets after close). */
  readonly clientTp: TcpcbLike | null;
  readonly serverTp: TcpcbLike | null;
  /** Both apps closed their sockets within the bound. */
  readonly finished: boolean;
  /** Virtual ms the exchange took (connect to both closed). */
  readonly elapsedMs: number;
}

/** Seeds of the two streams: distinct per run and per direction. */
export const streamSeeds = (seed: number): { ab: number; ba: number } => ({ ab: (seed * 2 + 1) >>> 0, ba: (seed * 2 + 2) >>> 0 });

/** Runs one transfer to the end (both sockets closed) or the bound. */
export function runTransfer(s: TransferSpec): TransferRun {
  const world = tcpWorld({ seed: s.seed, impairments: s.impairments, mtu: s.mtu, caps: s.caps, profile: s.profile });
  const family = s.family ?? 4;
  const port = s.port ?? 5001;
  const { ab, ba } = streamSeeds(s.seed);
  const serverOpts: BulkOptions = {
    sendBytes: s.bToA, sendSeed: ba, expectSeed: ab, afterSend: 'shutdown', closeOnEof: true,
    read: s.slowServer !== undefined ? 'manual' : 'events',
  };
  const acceptor = listen(world.b.stack, { family, port }, (st, so) => new BulkEndpoint(st, so, serverOpts));
  const start = world.sim.now;
  const client = connect(world.a.stack, { family, to: sa(world.b, family, port) }, (st, so) =>
    new BulkEndpoint(st, so, { sendBytes: s.aToB, sendSeed: ab, expectSeed: ba, afterSend: 'shutdown', closeOnEof: true }));
  const maxMs = s.maxMs ?? 600_000;
  const { sim } = world;
  let clientTp: TcpcbLike | null = null;
  let serverTp: TcpcbLike | null = null;
  sim.runUntil(() => client.connectErrno !== null && acceptor.apps.length > 0, Math.min(maxMs, 200_000));
  clientTp = tcpcbOf(client.so);
  const server = acceptor.apps[0] ?? null;
  if (server !== null) serverTp = tcpcbOf(server.so);
  const done = () => client.closed && server !== null && server.closed;
  const deadline = start + maxMs * 1000;
  if (s.slowServer !== undefined && server !== null) {
    const { bytes, everyMs } = s.slowServer;
    for (let i = 0; i < 10_000_000 && !done() && sim.now < deadline; i++) {
      sim.runFor(everyMs);
      server.read(bytes);
    }
  } else {
    sim.runUntil(done, Math.max(0, (deadline - sim.now) / 1000));
  }
  return {
    world, client, server, acceptor, clientTp, serverTp, finished: done(),
    elapsedMs: (sim.now - start) / 1000,
  };
}

/** A one-line summary of a run for failure messages. */
export function describeRun(r: TransferRun): string {
  const c = r.client, s = r.server;
  const side = (name: string, e: BulkEndpoint | null, tp: TcpcbLike | null) => e === null ? `${name}: no connection` :
    `${name}: connect=${e.connectErrno} queued=${e.queued}/${e.sendBytes} received=${e.received} eof=${e.eof} ` +
    `mismatchAt=${e.mismatchAt} errors=[${e.errors.join(',')}] closed=${e.closed} state=${stateName(tp)}`;
  return `seed ${r.world.seed} t=${r.world.sim.now / 1000}ms\n  ${side('client(a)', c, r.clientTp)}\n  ${side('server(b)', s, r.serverTp)}`;
}

/** What a run must satisfy: both streams complete and byte-exact, EOF on both sides, no errors. */
export function transferProblems(r: TransferRun, s: TransferSpec): string[] {
  const out: string[] = [];
  const { ab, ba } = streamSeeds(s.seed);
  const c = r.client, srv = r.server;
  if (c.connectErrno !== 0) out.push(`connect failed: ${c.connectErrno}`);
  if (srv === null) {
    out.push('no connection accepted');
    return out;
  }
  if (!r.finished) out.push('did not finish within the bound');
  if (c.errors.length > 0) out.push(`client errors ${c.errors.join(',')}`);
  if (srv.errors.length > 0) out.push(`server errors ${srv.errors.join(',')}`);
  if (srv.received !== s.aToB) out.push(`server received ${srv.received} of ${s.aToB}`);
  if (c.received !== s.bToA) out.push(`client received ${c.received} of ${s.bToA}`);
  if (srv.mismatchAt >= 0) out.push(`a→b stream differs at byte ${srv.mismatchAt}`);
  if (c.mismatchAt >= 0) out.push(`b→a stream differs at byte ${c.mismatchAt}`);
  if (srv.received === s.aToB && srv.receivedDigest() !== streamDigest(ab, s.aToB)) out.push('a→b sha256 differs');
  if (c.received === s.bToA && c.receivedDigest() !== streamDigest(ba, s.bToA)) out.push('b→a sha256 differs');
  if (!srv.eof) out.push('server saw no EOF');
  if (!c.eof) out.push('client saw no EOF');
  return out;
}

/**
 * Runs until both tcpcbs are CLOSED or TIME_WAIT (the last FIN's ACK may still be in flight when
 * both apps have closed), at most `maxMs`; returns the problems left (finalStateProblems).
 */
export function settle(r: TransferRun, maxMs = 600_000): string[] {
  r.world.sim.runUntil(() => finalStateProblems(r).length === 0, maxMs);
  return finalStateProblems(r);
}

/** Final-state problems: each tcpcb is CLOSED or TIME_WAIT. */
export function finalStateProblems(r: TransferRun): string[] {
  const out: string[] = [];
  for (const [name, tp] of [['client', r.clientTp], ['server', r.serverTp]] as const) {
    if (tp === null) continue;
    const st = stateName(tp);
    if (st !== 'CLOSED' && st !== 'TIME_WAIT') out.push(`${name} tcpcb in ${st}`);
  }
  return out;
}

/** After TIME_WAIT and every timer ran out: no PCB left and no mbuf held by either stack. */
export function leakProblems(w: SimWorld): string[] {
  const out: string[] = [];
  for (const h of [w.a, w.b]) {
    const n = tcpPcbCount(h.stack);
    if (n !== null && n !== 0) out.push(`${h.name}: ${n} TCP PCBs left`);
    h.stack.drain();
    const inUse = h.stack.pool.stats.mbufsInUse;
    if (inUse !== 0) out.push(`${h.name}: ${inUse} mbufs in use`);
    const cl = h.stack.pool.stats.clusterBytesInUse;
    if (cl !== 0) out.push(`${h.name}: ${cl} cluster bytes in use`);
    let live = 0;
    for (const _ of h.stack.sockets.sockets()) live++;
    if (live !== 0) out.push(`${h.name}: ${live} sockets still live`);
  }
  return out;
}
