// The example of README.md ("Kernel socket KPI"), kept true by running it: a TCP echo
// server and client written only against the KPI, on the simulated network, in virtual time.
// Keep this file and the README section in sync.

import { describe, expect, it } from 'vitest';
import { buildSimWorld } from '../../tools/sim-world.js';
import {
  AF_INET, IPPROTO_TCP, MSG_WAITALL, SOCK_STREAM, kpiKernel, kpiRunUntil, newMsghdr, sock_accept,
  sock_bind, sock_close, sock_connect, sock_listen, sock_receive, sock_send, sock_shutdown, sockaddrAny,
  sockaddrIn, SHUT_WR,
} from '../../kpi/index.js';
import type { Box, KpiKernel, socket_t } from '../../kpi/index.js';

// --- README example begins ---
/** Echo server: accepts connections forever, each served by its own async loop until EOF. */
async function echoServer(kernel: KpiKernel, port: number): Promise<number> {
  const ls: Box<socket_t | null> = { value: null };
  let e = kernel.sock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP, null, null, ls);
  if (e === 0) e = sock_bind(ls.value, sockaddrAny(4, port));
  if (e === 0) e = sock_listen(ls.value, 16);
  for (;;) {
    if (e !== 0) return e;
    const child: Box<socket_t | null> = { value: null };
    e = await sock_accept(ls.value, null, 0, 0, null, null, child); // blocking: a Promise
    if (e === 0) void serve(child.value!);
  }
}

async function serve(so: socket_t): Promise<void> {
  const buf = new Uint8Array(4096);
  const n = { value: 0 };
  for (;;) {
    const e = await sock_receive(so, newMsghdr([buf]), 0, n);
    if (e !== 0 || n.value === 0) break; // error or EOF
    const w = await sock_send(so, newMsghdr([buf.subarray(0, n.value)]), 0, null);
    if (w !== 0) break;
  }
  sock_close(so);
}

/** Echo client: connects, sends `message`, half-closes, reads the echo back. */
async function echoClient(kernel: KpiKernel, server: Uint8Array, message: Uint8Array): Promise<Uint8Array | number> {
  const so: Box<socket_t | null> = { value: null };
  let e = kernel.sock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP, null, null, so);
  if (e === 0) e = await sock_connect(so.value, server, 0);
  if (e === 0) e = await sock_send(so.value, newMsghdr([message]), 0, null);
  if (e === 0) e = sock_shutdown(so.value, SHUT_WR);
  const reply = new Uint8Array(message.length);
  const got = { value: 0 };
  if (e === 0) e = await sock_receive(so.value, newMsghdr([reply]), MSG_WAITALL, got);
  sock_close(so.value);
  return e !== 0 ? e : reply.subarray(0, got.value);
}
// --- README example ends ---

describe('README example: TCP echo over the KPI on the simulated network', () => {
  it('echoes 100 kB and finishes in virtual time', async () => {
    const world = buildSimWorld({ seed: 7 });
    const server = kpiKernel(world.b.stack);
    const client = kpiKernel(world.a.stack);
    let serverError: number | undefined;
    void echoServer(server, 7007).then((e) => { serverError = e; });

    const message = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    let reply: Uint8Array | number | undefined;
    void echoClient(client, sockaddrIn(world.b.v4, 7007), message).then((r) => { reply = r; });

    expect(await kpiRunUntil(world.sim, () => reply !== undefined, 10_000)).toBe(true);
    expect(serverError).toBeUndefined();
    expect(reply).toEqual(message);
    expect(world.sim.now).toBeLessThan(2_000_000); // virtual microseconds
  });
});

describe('the await-style driver is deterministic', () => {
  it('the same seed gives the same virtual timeline', async () => {
    const finish: number[] = [];
    for (let i = 0; i < 2; i++) {
      const world = buildSimWorld({ seed: 99, impairments: { delayMs: 3, jitterMs: 2 } });
      void echoServer(kpiKernel(world.b.stack), 7);
      let reply: Uint8Array | number | undefined;
      void echoClient(kpiKernel(world.a.stack), sockaddrIn(world.b.v4, 7), new Uint8Array(30_000).fill(5)).then((r) => { reply = r; });
      expect(await kpiRunUntil(world.sim, () => reply !== undefined, 10_000)).toBe(true);
      expect((reply as Uint8Array).length).toBe(30_000);
      finish.push(world.sim.now);
    }
    expect(finish[0]).toBe(finish[1]);
  });
});
