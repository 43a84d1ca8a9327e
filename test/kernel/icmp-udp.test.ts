// The Linux kernel as peer, without TCP: ping and ping6 (also 4000-byte pings, fragmented both
// ways), UDP echo from kernel sockets, and ICMP port unreachable turned into ECONNREFUSED by the
// kernel, each with TUN offloads on and off. Then an MTU of 1280 with IPv6.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST4, nsPython, nsRun, SKIP, SKIP_NOTE, STACK4, STACK6, startWorld } from './harness.js';
import type { KernelWorld } from './harness.js';

/** Sends `count` datagrams of `size` bytes from a connected UDP socket and checks each echo. */
const UDP_ECHO = `
import socket, sys, os
host, port, size, count, fam = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_INET6 if fam == '6' else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((host, port))
ok = 0
for i in range(count):
    msg = os.urandom(size)
    for attempt in range(3):
        s.send(msg)
        try:
            if s.recv(70000) == msg:
                ok += 1
                break
        except socket.timeout:
            pass
print(ok)
`;

/** A connected UDP socket to a closed port: the stack's ICMP port unreachable makes recv fail. */
const UDP_REFUSED = `
import socket, sys
host, port, fam = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6 if fam == '6' else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((host, port))
for attempt in range(3):
    try:
        s.send(b'anyone?')
        s.recv(100)
        print('answered')
        break
    except ConnectionRefusedError:
        print('refused')
        break
    except socket.timeout:
        continue
else:
    print('timeout')
`;

for (const offload of ['on', 'off'] as const) {
  describe.skipIf(SKIP)(`kernel peer: ICMP and UDP, offloads ${offload}${SKIP_NOTE}`, () => {
    let w: KernelWorld;
    beforeAll(() => { w = startWorld({ tag: offload === 'on' ? 'u' : 'v', offload, serve: ['echo', 'discard'] }); });
    afterAll(() => { w?.close(); });

    it('opens the device with the asked offloads', () => {
      expect(w.session.link.caps.tsoMaxBytes > 0).toBe(offload === 'on');
      expect(w.session.link.caps.txCsumOffload).toBe(offload === 'on');
    });

    it('answers ping and ping6', async () => {
      const [a, b] = await Promise.all([
        nsRun(w.netns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', STACK4]),
        nsRun(w.netns, 'ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', STACK6]),
      ]);
      expect(a.stdout.toString()).toMatch(/3 packets transmitted, 3 received/);
      expect(b.stdout.toString()).toMatch(/3 packets transmitted, 3 received/);
    });

    it('reassembles 4000-byte pings and fragments the replies (IPv4 and IPv6)', async () => {
      const ip = w.session.stack.ip;
      const before4 = ip.ipstat.ips_fragmented, before6 = ip.ip6stat.ip6s_fragmented;
      const [a, b] = await Promise.all([
        nsRun(w.netns, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', '-s', '4000', STACK4]),
        nsRun(w.netns, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', '-s', '4000', STACK6]),
      ]);
      expect(a.stdout.toString()).toMatch(/4008 bytes from 198\.18\.0\.2/);
      expect(a.stdout.toString()).toMatch(/2 received/);
      expect(b.stdout.toString()).toMatch(/4008 bytes from 2001:db8::2/);
      expect(b.stdout.toString()).toMatch(/2 received/);
      expect(ip.ipstat.ips_reassembled).toBeGreaterThanOrEqual(2);
      expect(ip.ipstat.ips_fragmented).toBeGreaterThanOrEqual(before4 + 2);
      expect(ip.ip6stat.ip6s_reassembled).toBeGreaterThanOrEqual(2);
      expect(ip.ip6stat.ip6s_fragmented).toBeGreaterThanOrEqual(before6 + 2);
    });

    it('echoes UDP from kernel sockets, small and fragmented, IPv4 and IPv6', async () => {
      const runs = await Promise.all([
        nsPython(w.netns, UDP_ECHO, [STACK4, '7', '100', '20', '4']),
        nsPython(w.netns, UDP_ECHO, [STACK4, '7', '3000', '5', '4']),
        nsPython(w.netns, UDP_ECHO, [STACK6, '7', '100', '20', '6']),
        nsPython(w.netns, UDP_ECHO, [STACK6, '7', '3000', '5', '6']),
      ]);
      expect(runs.map((r) => r.stdout.toString().trim() || r.stderr)).toEqual(['20', '5', '20', '5']);
      // With offloads the kernel leaves UDP checksums partial (NEEDS_CSUM) on the 40 unfragmented
      // datagrams: the stack trusts them as validated instead of checking in software. Fragmented
      // ones carry a full checksum (the kernel cannot leave it partial across fragments).
      const udp = w.session.stack.udp.stats;
      if (offload === 'on') expect(udp.udps_rcv_swcsum).toBeLessThan(20);
      else expect(udp.udps_rcv_swcsum).toBeGreaterThanOrEqual(50);
      expect(udp.udps_badsum).toBe(0);
    });

    it('discards UDP on port 9 without answering', async () => {
      const r = await nsPython(w.netns, `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.connect(('${STACK4}', 9))
s.send(b'x' * 500)
try:
    s.recv(100); print('answered')
except socket.timeout:
    print('silent')
`);
      expect(r.stdout.toString().trim()).toBe('silent');
    });

    it('sends ICMP port unreachable for a closed UDP port (the kernel reports ECONNREFUSED)', async () => {
      const [a, b] = await Promise.all([
        nsPython(w.netns, UDP_REFUSED, [STACK4, '5555', '4']),
        nsPython(w.netns, UDP_REFUSED, [STACK6, '5555', '6']),
      ]);
      expect(a.stdout.toString().trim()).toBe('refused');
      expect(b.stdout.toString().trim()).toBe('refused');
    });

    it('drops nothing at the link', () => {
      const st = w.session.link.stats;
      expect(st.dropsByReason()).toEqual({
        'too-big': 0, 'no-route': 0, malformed: 0, 'offload-unsupported': 0, 'no-buffers': 0,
        'no-receiver': 0, 'queue-full': 0, loss: 0,
      });
      expect(st.rxPackets).toBeGreaterThan(0);
      expect(w.session.link.tunStats.txErrors).toBe(0);
      // The kernel side stays in its namespace: nothing here reached anything else.
      expect(HOST4.startsWith('198.18.')).toBe(true);
    });
  });
}

describe.skipIf(SKIP)(`kernel peer: IPv6 with an MTU of 1280${SKIP_NOTE}`, () => {
  let w: KernelWorld;
  beforeAll(() => { w = startWorld({ tag: 'm', mtu: 1280, serve: ['echo'] }); });
  afterAll(() => { w?.close(); });

  it('configures 1280 on both sides', async () => {
    expect(w.session.stack.ip.ifnets[0]!.mtu).toBe(1280);
    const r = await nsRun(w.netns, 'ip', ['link', 'show', 'dev', w.dev]);
    expect(r.stdout.toString()).toMatch(/mtu 1280/);
  });

  it('answers a ping6 that exactly fills 1280 bytes, and a 3000-byte one in fragments', async () => {
    const [fit, frag] = await Promise.all([
      nsRun(w.netns, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', '-M', 'do', '-s', String(1280 - 48), STACK6]),
      nsRun(w.netns, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', '-s', '3000', STACK6]),
    ]);
    expect(fit.stdout.toString()).toMatch(/2 received/);
    expect(frag.stdout.toString()).toMatch(/3008 bytes from 2001:db8::2/);
    expect(frag.stdout.toString()).toMatch(/2 received/);
  });

  it('echoes 3000-byte UDP datagrams over IPv6', async () => {
    const r = await nsPython(w.netns, UDP_ECHO, [STACK6, '7', '3000', '5', '6']);
    expect(r.stdout.toString().trim()).toBe('5');
  });
});
