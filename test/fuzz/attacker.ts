// The hostile peer: a third port on the SimNetwork ("mallory"), so fuzzed packets enter the
// hosts exactly as packets from the wire do (SimPort.transmit → routed by destination address →
// the target port's impairments → Ifnet.receiveBatch). It owns its own addresses (answers to
// packets it sent from them come back here and are counted and freed) and spoofs any other.

import { MbufPool, mFreem } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import type { LinkReceiver } from '../../stack/link/link.js';
import type { SimNetwork, SimPort } from '../../stack/link/sim-network.js';
import type { IpCidr } from '../../stack/wire/ip-addr.js';
import type { Instant } from '../../stack/time/instant.js';

export class Attacker implements LinkReceiver {
  readonly pool = new MbufPool();
  readonly port: SimPort;
  /** Packets the hosts sent to the attacker's addresses. */
  received = 0;
  /** Packets handed to the network. */
  sent = 0;
  private readonly batch: Mbuf[] = [];

  constructor(net: SimNetwork, addrs: readonly IpCidr[]) {
    // A jumbo MTU on the attacker's own port, so oversized packets reach the network and are
    // dropped (and counted) at the target's port, like a packet too big for the target's link.
    this.port = net.attach('mallory', addrs, {}, { mtu: 65535 });
    this.port.setReceiver(this);
  }

  receiveBatch(batch: Mbuf[], count: number, _now: Instant): void {
    for (let i = 0; i < count; i++) mFreem(batch[i]!);
    this.received += count;
  }

  /** Puts raw IP packets on the wire (copied; the arrays stay the caller's). */
  send(packets: readonly Uint8Array[], now: Instant): void {
    let n = 0;
    for (const p of packets) {
      const m = this.pool.getPacket(Math.max(1, p.length));
      if (m === null) throw new Error('attacker pool exhausted');
      m.buf.set(p, m.data);
      m.len = p.length;
      m.pktLen = p.length;
      this.batch[n++] = m;
    }
    this.sent += n;
    this.port.transmit(this.batch, n, now);
  }
}
