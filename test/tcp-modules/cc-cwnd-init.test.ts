// cwndInit, XNU's cwnd_init hook (tcp_cc_cwnd_init_or_reset / tcp_cubic_cwnd_init_or_reset): used
// when the MSS changes under a running connection (PMTU black-hole detection and its revert).

import { describe, expect, it } from 'vitest';
import { Cubic, CubicState } from '../../stack/tcp/tcp-cc-cubic.js';
import { NewReno, initialWindowBytes } from '../../stack/tcp/tcp-cc-newreno.js';
import type { CongestionControl } from '../../stack/tcp/tcp-cc.js';
import { FakeConn } from './fixtures.js';

function afterRto(cc: CongestionControl): FakeConn {
  const tp = new FakeConn(1448);
  tp.ccState = cc.newState();
  cc.connInit(tp, 10, 0);
  tp.snd_cwnd = 40 * 1448;
  tp.flight = 40 * 1448;
  cc.congSignal(tp, 'rto', 1000);
  return tp;
}

describe('cwndInit (XNU cwnd_init)', () => {
  for (const cc of [NewReno, Cubic]) {
    it(`${cc.name}: cwnd = IW in the new SMSS; ssthresh and the RTO undo survive`, () => {
      const tp = afterRto(cc);
      const ssthresh = tp.snd_ssthresh;
      tp.t_maxseg = 1188;
      cc.cwndInit(tp, 2000);
      expect(tp.snd_cwnd).toBe(initialWindowBytes(1188, 10));
      expect(tp.snd_ssthresh).toBe(ssthresh);
      cc.congSignal(tp, 'rto-undo', 3000);
      expect(tp.snd_cwnd).toBe(40 * 1448);
    });
  }

  it('cubic: the curve is forgotten (W_max = ssthresh, no epoch running)', () => {
    const tp = afterRto(Cubic);
    const s = tp.ccState as CubicState;
    s.epochStart = 500;
    Cubic.cwndInit(tp, 2000);
    expect(s.wMax).toBe(tp.snd_ssthresh);
    expect(s.epochStart).toBe(-1);
  });
});
