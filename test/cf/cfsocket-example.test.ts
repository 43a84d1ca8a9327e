// The README's CFSocket example (tools/examples/cfsocket-echo.ts) in the simulation: the client's
// connect callback, the echoed data through the data callback, and a refused connect's errno.

import { describe, expect, it } from 'vitest';
import { CFSocketInvalidate, CFSocketIsValid, CFRunLoopRunInMode, kCFRunLoopDefaultMode } from '../../cfsocket/index.js';
import { cfEchoClient, cfEchoServer } from '../../tools/examples/cfsocket-echo.js';
import { addrB, cfWorld, run } from './cf-harness.js';

describe('README CFSocket example', () => {
  it('the client connects, sends, and gets its echo back through the data callback', async () => {
    const cw = cfWorld(3);
    const server = cfEchoServer(cw.ab, cw.rl, 7007)!;
    expect(server).not.toBeNull();
    const events: string[] = [];
    const message = 'x'.repeat(50_000);
    const client = cfEchoClient(cw.aa, cw.rl, addrB(cw, 7007), message, (e) => events.push(e))!;
    await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 2, false, cw.rl));
    expect(events[0]).toBe('connected');
    const echoed = events.slice(1).map((e) => e.replace(/^data /, '')).join('');
    expect(echoed).toBe(message);
    expect(events.length).toBeGreaterThan(2);   // 50 kB arrive in more than one chunk (32 kB max)
    expect(CFSocketIsValid(client)).toBe(false);
    // A second server on the same port cannot bind.
    expect(cfEchoServer(cw.ab, cw.rl, 7007)).toBeNull();
    CFSocketInvalidate(server);
  });

  it('a refused connect reaches the connect callback as ECONNREFUSED (61)', async () => {
    const cw = cfWorld(4);
    const events: string[] = [];
    cfEchoClient(cw.aa, cw.rl, addrB(cw, 7999), 'nobody', (e) => events.push(e));
    await run(cw, CFRunLoopRunInMode(kCFRunLoopDefaultMode, 2, false, cw.rl));
    expect(events).toEqual(['connect failed 61']);
  });
});
