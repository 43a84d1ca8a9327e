// The README's CFSocket examples, runnable: an echo server (accept + data callbacks) and a client
// (connect + data callbacks), both written as CoreFoundation code on the KPI.
//
//   node dist/tools/examples/cfsocket-echo.js          as root: the server on a TUN device; reach it
//                                                      from Linux with nc (the command is printed)
//   node dist/tools/examples/cfsocket-echo.js --sim    anyone: server and client on a simulated network
//
// test/cf/cfsocket-example.test.ts runs both functions in the simulation, and
// test/kernel/cfsocket-echo.test.ts runs the server against the Linux kernel over TUN.

import { fileURLToPath } from 'node:url';
import { IPPROTO_TCP, PF_INET, SOCK_STREAM, kpiKernel, kpiRun, sockaddrIn } from '../../kpi/index.js';
import {
  CFAllocatorCreateForKernel, CFDataCreate, CFDataGetBytePtr, CFDataGetLength, CFRelease, CFRunLoopAddSource,
  CFRunLoopCreateWithClock, CFRunLoopGetMain, CFRunLoopRun, CFRunLoopRunInMode, CFRunLoopStop, CFSocketConnectToAddress,
  CFSocketCreate, CFSocketCreateRunLoopSource, CFSocketCreateWithNative, CFSocketCreateWithSocketSignature,
  CFSocketInvalidate, CFSocketIsValid, CFSocketSendData, kCFRunLoopDefaultMode, kCFSocketAcceptCallBack,
  kCFSocketConnectCallBack, kCFSocketDataCallBack, kCFSocketSuccess, kpiKernelClock,
} from '../../cfsocket/index.js';
import type { CFAllocator, CFData, CFRunLoop, CFSocket } from '../../cfsocket/index.js';
import { buildSimWorld } from '../sim-world.js';
import { UP_DEFAULTS, startUp } from '../up-command.js';
import type { UpConfig } from '../up-command.js';

/** Adds a socket's run-loop source to `rl`'s default mode (the source stays retained by the mode). */
function schedule(rl: CFRunLoop, s: CFSocket): void {
  const src = CFSocketCreateRunLoopSource(null, s, 0)!;
  CFRunLoopAddSource(rl, src, kCFRunLoopDefaultMode);
  CFRelease(src);
}

/**
 * An echo server on TCP `port` of the allocator's kernel: the accept callback wraps each new
 * connection in a CFSocket with a data callback, which sends every chunk back. An empty chunk is
 * the end of the stream, after which CF invalidates the connection itself. Returns the listening
 * CFSocket (invalidate it to stop), or null when the port cannot be bound.
 */
export function cfEchoServer(alloc: CFAllocator, rl: CFRunLoop, port: number): CFSocket | null {
  const listener = CFSocketCreateWithSocketSignature(alloc,
    { protocolFamily: PF_INET, socketType: SOCK_STREAM, protocol: IPPROTO_TCP, address: CFDataCreate(null, sockaddrIn('0.0.0.0', port)) },
    kCFSocketAcceptCallBack, (_s, _type, _peer, fd) => {
      const conn = CFSocketCreateWithNative(null, fd as number, kCFSocketDataCallBack, (s, _t, _a, data) => {
        if (CFDataGetLength(data as CFData) > 0) void CFSocketSendData(s, null, data as CFData, 10);
      }, null);
      if (conn !== null) schedule(rl, conn);
    }, null);
  if (listener !== null) schedule(rl, listener);
  return listener;
}

/** What the client saw, in order: 'connected', 'connect failed <errno>', 'data <text>', 'closed'. */
export type ClientEvent = string;

/**
 * A client: a background connect (negative timeout) reported by the connect callback, which then
 * sends `message`; the data callback collects the echo and, once all of it is back, invalidates
 * the socket (closing it). Events go to `onEvent`.
 */
export function cfEchoClient(alloc: CFAllocator, rl: CFRunLoop, server: Uint8Array, message: string,
  onEvent: (e: ClientEvent) => void): CFSocket | null {
  let echoed = '';
  const client = CFSocketCreate(alloc, PF_INET, SOCK_STREAM, IPPROTO_TCP, kCFSocketConnectCallBack | kCFSocketDataCallBack,
    (s, type, _address, data) => {
      if (type === kCFSocketConnectCallBack) {
        // data: null on success, else the errno (Darwin numbering, e.g. 61 ECONNREFUSED).
        if (data !== null) { onEvent(`connect failed ${String(data)}`); CFSocketInvalidate(s); return; }
        onEvent('connected');
        void CFSocketSendData(s, null, CFDataCreate(null, new TextEncoder().encode(message)), 5);
        return;
      }
      const d = data as CFData;
      if (CFDataGetLength(d) === 0) { onEvent('closed'); return; }   // CF invalidates after this callout
      const text = new TextDecoder().decode(CFDataGetBytePtr(d));
      echoed += text;
      onEvent(`data ${text}`);
      if (echoed.length >= message.length) CFSocketInvalidate(s);
    }, null);
  if (client === null) return null;
  schedule(rl, client);
  if (CFSocketConnectToAddress(client, CFDataCreate(null, server), -1) !== kCFSocketSuccess) {
    CFSocketInvalidate(client);
    return null;
  }
  return client;
}

/** --sim: both ends on a seeded simulated network, in virtual time. */
async function runSim(): Promise<number> {
  const world = buildSimWorld({ seed: 1 });
  const a = CFAllocatorCreateForKernel(kpiKernel(world.a.stack));
  const b = CFAllocatorCreateForKernel(kpiKernel(world.b.stack));
  const rl = CFRunLoopCreateWithClock(kpiKernelClock(kpiKernel(world.a.stack)));
  const server = cfEchoServer(b, rl, 7007);
  const client = cfEchoClient(a, rl, sockaddrIn(world.b.v4, 7007), 'hello, CFSocket', (e) => console.log(`client: ${e}`));
  if (server === null || client === null) { console.error('cfsocket-echo: could not create the sockets'); return 1; }
  await kpiRun(world.sim, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 5, false, rl), 10_000);
  const ok = !CFSocketIsValid(client);
  CFSocketInvalidate(server);
  console.log(ok ? 'cfsocket-echo: done' : 'cfsocket-echo: the echo did not complete');
  return ok ? 0 : 1;
}

/** Default: the server on a TUN device (root), until SIGINT/SIGTERM. */
async function runTun(): Promise<number> {
  const cfg: UpConfig = {
    tun: UP_DEFAULTS.tun, netns: UP_DEFAULTS.netns, addrs: [...UP_DEFAULTS.addrs], hostAddrs: [...UP_DEFAULTS.hostAddrs],
    mtu: UP_DEFAULTS.mtu, serve: [], pcap: null, offload: 'auto', hostConfig: true, verbose: false,
  };
  const session = startUp(cfg, { out: (l) => console.log(l), err: (l) => console.error(l) });
  const rl = CFRunLoopGetMain();
  const server = cfEchoServer(CFAllocatorCreateForKernel(kpiKernel(session.stack)), rl, 7007);
  if (server === null) { session.close(1); return 1; }
  const stop = (): void => { CFSocketInvalidate(server); CFRunLoopStop(rl); session.close(0); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const v4 = cfg.addrs[0]!.split('/')[0]!;
  console.log(`cfsocket-echo: CFSocket echo server on ${v4}:7007 (${session.link.name}); try:`);
  console.log(`  echo hello | ip netns exec ${cfg.netns!} nc -N ${v4} 7007`);
  await CFRunLoopRun(rl);   // returns once the listener is invalidated and the mode is empty
  return session.done;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const code = await (process.argv.includes('--sim') ? runSim() : runTun()).catch((e: unknown) => {
    console.error(`cfsocket-echo: ${(e as Error).message}`);
    return 1;
  });
  process.exit(code);
}
