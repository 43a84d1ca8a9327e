// TunLink on its own (no stack), against the kernel: received packets are mbufs over the ring
// slots until every slot is held, then copies (the device never stalls), and slots come back when
// the mbufs are freed; transmitted UDP reaches a kernel socket with the checksum filled by us
// (offloads off) or left partial to the kernel (offloads on, CSUM_NEEDS).

import { afterEach, describe, expect, it } from 'vitest';
import { CSUM_NEEDS, mFreem, MbufPool, mToBytes } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import { RealClock } from '../../stack/time/clock.js';
import { checksumAdd, fold16, pseudoHeaderSum4 } from '../../stack/wire/checksum.js';
import { DeviceSetup } from '../../stack/link/tun/device-setup.js';
import { isTunSlotMbuf, TunLink } from '../../stack/link/tun/tun-link.js';
import { HOST4, nsPython, SKIP, SKIP_NOTE, STACK4, uniqueNames, waitFor } from './harness.js';

interface Rig { link: TunLink; setup: DeviceSetup; netns: string; held: Mbuf[]; pool: MbufPool }

function rig(offload: 'on' | 'off', ringSlots: number): Rig {
  const { dev, netns } = uniqueNames(offload === 'on' ? 'l' : 'k');
  const link = TunLink.open({ name: dev, offload, clock: new RealClock(), ringSlots, batchMax: 8, copyBelow: 0 });
  const pool = new MbufPool();
  const held: Mbuf[] = [];
  link.setReceiver({ pool, receiveBatch(batch, count) { for (let i = 0; i < count; i++) held.push(batch[i]!); } });
  try {
    const setup = DeviceSetup.apply({ dev, netns, addrs: [`${HOST4}/24`], mtu: 1500 });
    return { link, setup, netns, held, pool };
  } catch (e) {
    link.close();
    throw e;
  }
}

/** Sends `n` UDP datagrams of 300 bytes (byte value = datagram index) from the namespace to the stack's address. */
const SEND = (n: number): string => `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(${n}):
    s.sendto(bytes([i]) * 300, ('${STACK4}', 9))
`;

/** An IPv4/UDP packet 198.18.0.2:4000 → 198.18.0.1:port with the checksum complete or left to the device. */
function udpPacket(pool: MbufPool, port: number, payload: Uint8Array, leaveCsum: boolean): Mbuf {
  const len = 28 + payload.length;
  const b = new Uint8Array(len);
  b[0] = 0x45; b[2] = len >> 8; b[3] = len & 0xff; b[8] = 64; b[9] = 17;
  b.set([198, 18, 0, 2, 198, 18, 0, 1], 12);
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  const ipsum = ~fold16(s) & 0xffff;
  b[10] = ipsum >> 8; b[11] = ipsum & 0xff;
  b[20] = 4000 >> 8; b[21] = 4000 & 0xff; b[22] = port >> 8; b[23] = port & 0xff;
  b[24] = (8 + payload.length) >> 8; b[25] = (8 + payload.length) & 0xff;
  b.set(payload, 28);
  if (!leaveCsum) {
    const c = ~fold16(checksumAdd(pseudoHeaderSum4(b, 12, b, 16, 17, 8 + payload.length), b, 20, 8 + payload.length)) & 0xffff;
    b[26] = c >> 8; b[27] = c & 0xff;
  } else {
    b[26] = 0x12; b[27] = 0x34; // garbage: the link must replace it with the pseudo-header seed
  }
  const m = pool.getPacket(len)!;
  m.buf.set(b, m.data);
  m.len = len;
  m.pktLen = len;
  if (leaveCsum) m.csumFlags = CSUM_NEEDS;
  return m;
}

const RECEIVE_ONE = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('${HOST4}', int(sys.argv[1])))
s.settimeout(5)
print('ready', flush=True)
try:
    d, a = s.recvfrom(2000)
    print(d.decode(), a[0], a[1], flush=True)
except socket.timeout:
    print('timeout', flush=True)
`;

for (const offload of ['off', 'on'] as const) {
  describe.skipIf(SKIP)(`TunLink against the kernel, offloads ${offload}${SKIP_NOTE}`, () => {
    let r: Rig | null = null;
    afterEach(() => {
      if (r === null) return;
      for (const m of r.held) mFreem(m);
      r.link.close();
      r.setup.cleanup();
      r = null;
    });

    it('lends ring slots as zero-copy clusters, copies when all are held, and gets them back when freed', async () => {
      const ring = 4;
      r = rig(offload, ring);
      const { link, held, netns } = r;
      await nsPython(netns, SEND(12));
      expect(await waitFor(() => held.filter((m) => m.pktLen === 328).length >= 12, 5000)).toBe(true);
      const zc = held.filter((m) => isTunSlotMbuf(m, link));
      expect(zc).toHaveLength(ring);
      expect(link.slotsInUse).toBe(ring);
      expect(link.tunStats.rxZeroCopy).toBe(ring);
      expect(link.tunStats.rxCopiedOverflow).toBe(held.length - ring);
      // Every datagram arrived intact, whichever path it took.
      const udp = held.filter((m) => m.pktLen === 328).map((m) => mToBytes(m));
      expect(udp.map((p) => p[28]).sort((a, b) => a! - b!)).toEqual([...Array(12).keys()]);
      for (const p of udp) expect(p.subarray(28).every((x) => x === p[28])).toBe(true);

      for (const m of held) mFreem(m);
      held.length = 0;
      expect(link.slotsInUse).toBe(0);
      await nsPython(netns, SEND(2));
      expect(await waitFor(() => held.filter((m) => m.pktLen === 328).length >= 2, 5000)).toBe(true);
      expect(held.filter((m) => m.pktLen === 328).every((m) => isTunSlotMbuf(m, link))).toBe(true);
      expect(link.stats.drops).toBe(0);
    });

    it('transmits UDP a kernel socket accepts', async () => {
      r = rig(offload, 16);
      const { link, pool, netns } = r;
      const port = 7001;
      let ready!: () => void;
      const listening = new Promise<void>((res) => { ready = res; });
      const server = nsPython(netns, RECEIVE_ONE, [String(port)], { onStdout: (c) => { if (c.toString().includes('ready')) ready(); } });
      await listening;
      const m = udpPacket(pool, port, new TextEncoder().encode(`hello ${offload}`), offload === 'on');
      link.transmit([m], 1, new RealClock().now());
      const out = await server;
      expect(out.stdout.toString()).toContain(`hello ${offload} ${STACK4} 4000`);
      expect(link.stats.txPackets).toBe(1);
      expect(link.tunStats.txErrors).toBe(0);
    });
  });
}
