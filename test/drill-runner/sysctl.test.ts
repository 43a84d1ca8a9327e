// The sysctl surface of TcpProfile (stack/tcp/tcp-sysctl.ts) and the FreeBSD profile.
import { describe, expect, it } from 'vitest';
import { FREEBSD_PROFILE, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import { sysctlGet, sysctlNames, sysctlSet } from '../../stack/tcp/tcp-sysctl.js';

describe('sysctlSet / sysctlGet', () => {
  it('maps every issue-listed BSD name', () => {
    for (const n of ['net.inet.tcp.sack.enable', 'net.inet.tcp.rfc1323', 'net.inet.tcp.recvspace', 'net.inet.tcp.sendspace',
      'kern.ipc.maxsockbuf', 'net.inet.tcp.blackhole', 'net.inet.tcp.ecn.enable', 'net.inet.tcp.insecure_rst',
      'net.inet.tcp.insecure_syn', 'net.inet.tcp.rexmit_initial', 'net.inet.tcp.rexmit_slop', 'net.inet.tcp.rexmit_drop_options',
      'net.inet.tcp.drop_synfin', 'net.inet.tcp.keepinit', 'net.inet.tcp.keepidle', 'net.inet.tcp.keepintvl', 'net.inet.tcp.keepcnt',
      'net.inet.tcp.delacktime', 'net.inet.tcp.icmp_may_rst', 'net.inet.tcp.hostcache.purgenow', 'net.inet.tcp.msl',
      'net.inet.tcp.mssdflt', 'net.inet.tcp.minmss', 'net.inet.tcp.cc.algorithm']) {
      expect(sysctlNames()).toContain(n);
      expect(sysctlGet(XNU_PROFILE, n).ok).toBe(true);
    }
  });

  it('returns a new profile and leaves the old one alone', () => {
    const r = sysctlSet(XNU_PROFILE, 'net.inet.tcp.msl', '5000');
    expect(r.ok && r.profile.mslMs).toBe(5000);
    expect(XNU_PROFILE.mslMs).toBe(15_000);
    const s = sysctlSet(XNU_PROFILE, 'net.inet.tcp.sack.enable', 0);
    expect(s.ok && s.profile.sack).toBe(false);
    const c = sysctlSet(XNU_PROFILE, 'net.inet.tcp.cc.algorithm', 'newreno');
    expect(c.ok && sysctlGet(c.profile, 'net.inet.tcp.cc.algorithm')).toEqual({ ok: true, value: 'newreno' });
    const p = sysctlSet(XNU_PROFILE, 'net.inet.tcp.hostcache.purgenow', '1');
    expect(p).toMatchObject({ ok: true, action: 'hostcache-purge' });
  });

  it('reports unknown names, bad values and unimplemented values', () => {
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.nope', 1)).toMatchObject({ ok: false, kind: 'unknown' });
    expect(sysctlGet(XNU_PROFILE, 'net.inet.tcp.nope')).toMatchObject({ ok: false, kind: 'unknown' });
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.blackhole', 3)).toMatchObject({ ok: false, kind: 'bad-value' });
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.msl', 'abc')).toMatchObject({ ok: false, kind: 'bad-value' });
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.syncookies', 1)).toMatchObject({ ok: false, kind: 'unimplemented' });
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.syncookies', 0).ok).toBe(true);
    // 2 (accept only) is modelled since ECN was implemented; 3 asks for Accurate ECN, which is not.
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.ecn.enable', 3)).toMatchObject({ ok: false, kind: 'bad-value' });
  });
});

describe('FREEBSD_PROFILE', () => {
  it('has FreeBSD 14\'s defaults', () => {
    const g = (n: string) => { const r = sysctlGet(FREEBSD_PROFILE, n); return r.ok ? r.value : null; };
    expect(FREEBSD_PROFILE.synOptions).toEqual(['mss', 'nop', 'wscale', 'sackOK', 'ts']);
    expect([g('net.inet.tcp.msl'), g('net.inet.tcp.rexmit_initial'), g('net.inet.tcp.rexmit_slop'), g('net.inet.tcp.delacktime')])
      .toEqual([30_000, 1000, 200, 40]);
    expect([g('net.inet.tcp.keepidle'), g('net.inet.tcp.keepintvl'), g('net.inet.tcp.keepcnt')]).toEqual([7_200_000, 75_000, 8]);
    expect([g('net.inet.tcp.recvspace'), g('net.inet.tcp.sendspace')]).toEqual([65536, 32768]);
    expect([FREEBSD_PROFILE.delAckPolicy, FREEBSD_PROFILE.initialWindowSegments, FREEBSD_PROFILE.congestionControl])
      .toEqual(['every-second', 10, 'cubic']);
  });
});
