// Shared plumbing of the socket KPI tests: a two-host simulated world with a KPI kernel on each
// host, socket creation, an established TCP pair made through the KPI, and short ways to run the
// simulation while KPI Promises settle. Everything below talks to the stack through kpi/ only,
// except `raw(so)`, the one peek at the socket layer's state for assertions.

import { expect } from 'vitest';
import { buildSimWorld } from '../../tools/sim-world.js';
import type { SimWorld } from '../../tools/sim-world.js';
import type { Impairments } from '../../stack/link/sim-network.js';
import type { Socket } from '../../stack/socket/socket.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, MSG_DONTWAIT, SOCK_DGRAM, SOCK_STREAM,
  kpiKernel, kpiRun, kpiRunUntil, newMsghdr, sock_accept, sock_bind, sock_connect, sock_listen,
  sock_receive, sock_send, sockaddrIn, sockaddrIn6, setsockoptInt, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF,
} from '../../kpi/index.js';
import type { Box, KpiBehaviour, KpiKernel, KpiResult, sock_upcall, socket_t } from '../../kpi/index.js';

export const PORT = 7100;

export interface KpiWorld {
  readonly w: SimWorld;
  /** Host a's kernel (198.18.0.1, 2001:db8::1): usually the client. */
  readonly ka: KpiKernel;
  /** Host b's kernel (198.18.0.2, 2001:db8::2): usually the server. */
  readonly kb: KpiKernel;
}

export function kpiWorld(opts: { seed?: number; behaviour?: KpiBehaviour; impairments?: Impairments } = {}): KpiWorld {
  const w = buildSimWorld({ seed: opts.seed ?? 11, impairments: opts.impairments });
  const behaviour = opts.behaviour ?? 'documented';
  return { w, ka: kpiKernel(w.a.stack, { behaviour }), kb: kpiKernel(w.b.stack, { behaviour }) };
}

/** b's address on `port` (IPv4 or IPv6). */
export function addrB(kw: KpiWorld, port = PORT, family: 4 | 6 = 4): Uint8Array {
  return family === 4 ? sockaddrIn(kw.w.b.v4, port) : sockaddrIn6(kw.w.b.v6, port);
}

/** A new socket (asserts success). */
export function sock(
  k: KpiKernel, type: number = SOCK_STREAM, family: 4 | 6 = 4, cb: sock_upcall | null = null, cookie: unknown = null,
): socket_t {
  const box: Box<socket_t | null> = { value: null };
  const proto = type === SOCK_STREAM ? IPPROTO_TCP : type === SOCK_DGRAM ? IPPROTO_UDP : 0;
  expect(k.sock_socket(family === 4 ? AF_INET : AF_INET6, type, proto, cb, cookie, box)).toBe(0);
  return box.value!;
}

/** A TCP listener on b:port. */
export function listener(kw: KpiWorld, port = PORT, family: 4 | 6 = 4, cb: sock_upcall | null = null, cookie: unknown = null): socket_t {
  const ls = sock(kw.kb, SOCK_STREAM, family, cb, cookie);
  expect(sock_bind(ls, family === 4 ? sockaddrIn('0.0.0.0', port) : sockaddrIn6('::', port))).toBe(0);
  expect(sock_listen(ls, 8)).toBe(0);
  return ls;
}

/** Runs the simulation until `p` settles; returns its value. */
export function run<T>(kw: KpiWorld, p: T | Promise<T>, maxMs = 10_000): Promise<T> {
  return kpiRun(kw.w.sim, p, maxMs);
}

/** Runs the simulation (settling continuations) until `pred` or `maxMs`. */
export function runUntil(kw: KpiWorld, pred: () => boolean, maxMs = 10_000): Promise<boolean> {
  return kpiRunUntil(kw.w.sim, pred, maxMs);
}

/** Runs `ms` of virtual time. */
export async function runFor(kw: KpiWorld, ms: number): Promise<void> {
  await kpiRunUntil(kw.w.sim, () => false, ms);
}

/** Whether a KPI result is a pending Promise (the call would block) rather than a number. */
export function isPending(r: KpiResult | void | Promise<void>): r is Promise<number> {
  return r instanceof Promise;
}

export interface Pair {
  readonly ls: socket_t;
  readonly client: socket_t;
  readonly server: socket_t;
}

/**
 * An established TCP connection a → b:port made with the KPI (blocking connect and accept).
 * Upcalls, when given, are installed on the client (sock_socket) and the server child (sock_accept).
 */
export async function tcpPair(
  kw: KpiWorld,
  o: {
    port?: number; family?: 4 | 6; clientCb?: sock_upcall | null; serverCb?: sock_upcall | null; cookie?: unknown;
    /** Runs before the connect: set options on the listener (children inherit buffer sizes) and the client. */
    before?: (ls: socket_t, client: socket_t) => void;
  } = {},
): Promise<Pair> {
  const port = o.port ?? PORT;
  const family = o.family ?? 4;
  const ls = listener(kw, port, family);
  const client = sock(kw.ka, SOCK_STREAM, family, o.clientCb ?? null, o.cookie ?? 'client');
  o.before?.(ls, client);
  const child: Box<socket_t | null> = { value: null };
  const acc = sock_accept(ls, null, 0, 0, o.serverCb ?? null, o.cookie ?? 'server', child);
  expect(isPending(acc)).toBe(true);
  const con = sock_connect(client, addrB(kw, port, family), 0);
  expect(isPending(con)).toBe(true);
  expect(await run(kw, con)).toBe(0);
  expect(await run(kw, acc)).toBe(0);
  return { ls, client, server: child.value! };
}

/** Sets SO_SNDBUF on the client and SO_RCVBUF on the listener (inherited by the child): a narrow path. */
export function smallBuffers(size: number): (ls: socket_t, client: socket_t) => void {
  return (ls, client) => {
    expect(setsockoptInt(ls, SOL_SOCKET, SO_RCVBUF, size)).toBe(0);
    expect(setsockoptInt(client, SOL_SOCKET, SO_SNDBUF, size)).toBe(0);
  };
}

/** Sends `n` bytes (or the given bytes) and waits for the call to finish; returns [errno, sent]. */
export async function sendAll(kw: KpiWorld, so: socket_t, data: number | Uint8Array, flags = 0): Promise<[number, number]> {
  const bytes = typeof data === 'number' ? new Uint8Array(data).fill(0x61) : data;
  const sent = { value: -1 };
  const e = await run(kw, sock_send(so, newMsghdr([bytes]), flags, sent));
  return [e, sent.value];
}

/** A nonblocking receive of up to `max` bytes: [errno, bytes]. */
export function recvNow(so: socket_t, max = 65536): [number, Uint8Array] {
  const buf = new Uint8Array(max);
  const n = { value: -1 };
  const e = sock_receive(so, newMsghdr([buf]), MSG_DONTWAIT, n) as number;
  return [e, buf.subarray(0, Math.max(0, n.value))];
}

/** The socket layer's socket under a socket_t (for assertions on state only). */
export const raw = (so: socket_t): Socket => so.so;

/** Records upcalls: [virtual ms, cookie, waitf] per call. */
export class UpcallLog {
  readonly calls: { t: number; so: socket_t; cookie: unknown; waitf: number }[] = [];
  constructor(private readonly kw: KpiWorld) {}
  readonly cb: sock_upcall = (so, cookie, waitf) => {
    this.calls.push({ t: this.kw.w.sim.now / 1000, so, cookie, waitf });
  };
  get count(): number { return this.calls.length; }
  for(so: socket_t): number { return this.calls.filter((c) => c.so === so).length; }
  clear(): void { this.calls.length = 0; }
}
