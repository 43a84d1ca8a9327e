// Server-side TCP Fast Open against the Linux kernel's TFO client over TUN (IPv4 and IPv6). A
// TCP_FASTOPEN listener written against kpi/ runs on the TUN stack; a python3 client in the
// namespace (net.ipv4.tcp_fastopen=1 set there) calls sendto(data, MSG_FASTOPEN, addr) twice. The
// first SYN asks for a cookie and the data follows the handshake; the second carries the cookie
// and the data. The client then half-closes; the listener reads to EOF and answers each connection
// with the state and tcpi_tfo_* bits TCP_CONNECTION_INFO showed when it accepted it, then the
// data: the second child must have been
// accepted in SYN_RECEIVED with tcpi_tfo_syn_data_rcv, the kernel must report its SYN data acked
// (TCPI_OPT_SYN_DATA), and the stack must count one tcps_tfo_syn_data_rcv.
//
// Network safety: only the test's own namespace and 198.18.0.0/15 / 2001:db8::/32 (harness.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsPython, nsRun, SKIP, SKIP_NOTE, STACK4, STACK6, startWorld } from './harness.js';
import type { KernelWorld } from './harness.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, SOCK_STREAM, TCP_CONNECTION_INFO, TCP_FASTOPEN, kpiKernel, newMsghdr,
  setsockoptInt, sock_accept, sock_bind, sock_close, sock_getsockopt, sock_listen, sock_receive, sock_send,
  sockaddrAny,
} from '../../kpi/index.js';
import type { Box, KpiKernel, socket_t } from '../../kpi/index.js';
import { TCPS_CLOSE_WAIT, TCPS_ESTABLISHED, TCPS_SYN_RECEIVED } from '../../stack/tcp/tcp-fsm.js';
import { TCPI_TFO_COOKIE_REQ_RCV, TCPI_TFO_COOKIE_SENT, TCPI_TFO_SYN_DATA_RCV } from '../../stack/tcp/tcp-fastopen.js';

/**
 * A TCP_FASTOPEN listener on `port`: each accepted child is read to EOF, then answered with
 * `<tcpi_state>:<tcpi_tfo bits>:<the data>` (the first two as seen at accept) and closed. It must
 * not close before the peer's FIN: as in XNU (tcp_disconnect), closing a child still in
 * SYN_RECEIVED just frees it.
 */
async function tfoServer(kernel: KpiKernel, family: 4 | 6, port: number, ls: Box<socket_t | null>): Promise<number> {
  let e = kernel.sock_socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP, null, null, ls);
  if (e === 0) e = sock_bind(ls.value, sockaddrAny(family, port));
  if (e === 0) e = sock_listen(ls.value, 16);
  if (e === 0) e = setsockoptInt(ls.value, IPPROTO_TCP, TCP_FASTOPEN, 1);
  for (;;) {
    if (e !== 0) return e;
    const child: Box<socket_t | null> = { value: null };
    e = await sock_accept(ls.value, null, 0, 0, null, null, child);
    if (e === 0) void answer(child.value!);
  }
}

async function answer(so: socket_t): Promise<void> {
  const info = new Uint8Array(112);
  sock_getsockopt(so, IPPROTO_TCP, TCP_CONNECTION_INFO, info, { value: info.length });
  const state = info[0]!;
  const tfo = new DataView(info.buffer).getUint32(52, true);
  const buf = new Uint8Array(4096);
  let got = '';
  const n = { value: 0 };
  for (;;) {
    const e = await sock_receive(so, newMsghdr([buf]), 0, n);
    if (e !== 0 || n.value === 0) break;
    got += new TextDecoder().decode(buf.subarray(0, n.value));
  }
  await sock_send(so, newMsghdr([new TextEncoder().encode(`${state}:${tfo}:${got}`)]), 0, null);
  sock_close(so);
}

const CLIENT = `
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
MSG_FASTOPEN = getattr(socket, 'MSG_FASTOPEN', 0x20000000)
TCPI_OPT_SYN_DATA = 32
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
for msg in (b'first', b'second-fast'):
    s = socket.socket(fam, socket.SOCK_STREAM)
    # Blocking: with a timeout (non-blocking inside) sendto would answer EINPROGRESS.
    s.sendto(msg, MSG_FASTOPEN, (host, port))
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    reply = b''
    while True:
        d = s.recv(4096)
        if not d: break
        reply += d
    # struct tcp_info: tcpi_state, ca_state, retransmits, probes, backoff, options (u8 each).
    opts = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[5]
    s.close()
    print(reply.decode(), 1 if opts & TCPI_OPT_SYN_DATA else 0, flush=True)
    time.sleep(0.05)
`;

describe.skipIf(SKIP)(`kernel peer: TCP Fast Open client against the stack's TFO listener${SKIP_NOTE}`, () => {
  let w: KernelWorld;
  const listeners: Box<socket_t | null>[] = [];
  beforeAll(async () => {
    w = startWorld({ tag: 'f', serve: [] });
    // Linux's client TFO (bit 1) is the default; set it explicitly, in the test's namespace only.
    const r = await nsRun(w.netns, 'sysctl', ['-w', 'net.ipv4.tcp_fastopen=1']);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => {
    for (const l of listeners) if (l.value !== null) sock_close(l.value);
    w?.close();
  });

  for (const [host, port, family] of [[STACK4, 7401, 4], [STACK6, 7402, 6]] as const) {
    it(`the second SYN from ${host} carries its data with the cookie and the stack takes it at once`, async () => {
      const kernel = kpiKernel(w.session.stack);
      const ls: Box<socket_t | null> = { value: null };
      listeners.push(ls);
      const before = { ...w.session.stack.tcp.stats };
      let serverErr: number | null = null;
      void tfoServer(kernel, family, port, ls).then((e) => { serverErr = e; });
      const out = await nsPython(w.netns, CLIENT, [host, String(port)], { timeoutMs: 25_000 });
      expect(out.code, out.stderr).toBe(0);
      expect(serverErr).toBeNull();
      const [first, second] = out.stdout.toString().trim().split('\n');
      // First: a cookie request (answered with a cookie); an ordinary handshake, the data (and the
      // client's FIN) after it, so the child was ESTABLISHED or already CLOSE_WAIT when accepted.
      const [r1, acked1] = first!.split(' ');
      expect(r1).toMatch(new RegExp(`^[${TCPS_ESTABLISHED}${TCPS_CLOSE_WAIT}]:${TCPI_TFO_COOKIE_REQ_RCV | TCPI_TFO_COOKIE_SENT}:first$`));
      expect(acked1).toBe('0');
      // Second: accepted in SYN_RECEIVED with the SYN's data; Linux saw the data acked by the SYN-ACK.
      expect(second).toBe(`${TCPS_SYN_RECEIVED}:${TCPI_TFO_SYN_DATA_RCV}:second-fast 1`);
      const st = w.session.stack.tcp.stats;
      expect(st.tcps_tfo_cookie_req_rcv - before.tcps_tfo_cookie_req_rcv).toBe(1);
      expect(st.tcps_tfo_cookie_sent - before.tcps_tfo_cookie_sent).toBeGreaterThanOrEqual(1);
      expect(st.tcps_tfo_syn_data_rcv - before.tcps_tfo_syn_data_rcv).toBe(1);
      expect(st.tcps_tfo_cookie_invalid - before.tcps_tfo_cookie_invalid).toBe(0);
    }, 40_000);
  }
});
