import { describe, expect, it, vi, afterEach } from 'vitest';
import {
  gatherTarget,
  isUdpCandidateOfType,
  isUdpHostCandidate,
  parseIceServers,
  waitForIceGathering,
  MAX_ICE_SERVERS,
  type IceCandidateLike,
  type IceEventSource,
} from './ice';

class FakePeer implements IceEventSource {
  iceGatheringState = 'new';
  private listeners = new Map<string, Set<(e: any) => void>>();
  addEventListener(type: string, l: (e: any) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(l);
  }
  removeEventListener(type: string, l: (e: any) => void) {
    this.listeners.get(type)?.delete(l);
  }
  listenerCount() {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
  candidate(c: IceCandidateLike | null) {
    this.listeners.get('icecandidate')?.forEach((l) => l({ candidate: c }));
  }
  gathering(state: string) {
    this.iceGatheringState = state;
    this.listeners.get('icegatheringstatechange')?.forEach((l) => l({}));
  }
}

const udpHost = 'candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0';
const tcpHost = 'candidate:2 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active';
const udpSrflx = 'candidate:3 1 udp 1686052607 203.0.113.5 40000 typ srflx raddr 192.168.1.20 rport 54321';
const udpRelay = 'candidate:4 1 udp 41885439 198.51.100.7 50000 typ relay raddr 203.0.113.5 rport 40000';

afterEach(() => vi.useRealTimers());

describe('isUdpHostCandidate', () => {
  it('recognises UDP host candidates from fields or the SDP line', () => {
    expect(isUdpHostCandidate({ candidate: udpHost })).toBe(true);
    expect(isUdpHostCandidate({ candidate: `a=${udpHost}` })).toBe(true);
    expect(isUdpHostCandidate({ candidate: 'candidate:1 1 UDP 1 abcd.local 5000 typ host' })).toBe(true);
    expect(isUdpHostCandidate({ candidate: 'x', protocol: 'udp', type: 'host' })).toBe(true);
    expect(isUdpHostCandidate({ candidate: tcpHost })).toBe(false);
    expect(isUdpHostCandidate({ candidate: udpSrflx })).toBe(false);
    expect(isUdpHostCandidate({ candidate: '' })).toBe(false);
    expect(isUdpHostCandidate(null)).toBe(false);
  });
});

describe('waitForIceGathering', () => {
  it('resolves on the first UDP host candidate and removes its listeners', async () => {
    vi.useFakeTimers();
    const pc = new FakePeer();
    const p = waitForIceGathering(pc, 1000);
    pc.candidate({ candidate: tcpHost });
    pc.candidate({ candidate: udpSrflx });
    pc.candidate({ candidate: udpHost });
    await expect(p).resolves.toBe('candidate');
    expect(pc.listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves when gathering completes first', async () => {
    const pc = new FakePeer();
    const p = waitForIceGathering(pc, 1000);
    pc.candidate({ candidate: tcpHost });
    pc.gathering('gathering');
    pc.gathering('complete');
    await expect(p).resolves.toBe('complete');
  });

  it('treats the null end-of-candidates event as complete', async () => {
    const pc = new FakePeer();
    const p = waitForIceGathering(pc, 1000);
    pc.candidate(null);
    await expect(p).resolves.toBe('complete');
  });

  it('resolves immediately when gathering is already complete', async () => {
    const pc = new FakePeer();
    pc.iceGatheringState = 'complete';
    await expect(waitForIceGathering(pc)).resolves.toBe('complete');
    expect(pc.listenerCount()).toBe(0);
  });

  it('times out after the cap (1 s by default)', async () => {
    vi.useFakeTimers();
    const pc = new FakePeer();
    let outcome: string | null = null;
    void waitForIceGathering(pc).then((o) => (outcome = o));
    await vi.advanceTimersByTimeAsync(999);
    expect(outcome).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toBe('timeout');
    expect(pc.listenerCount()).toBe(0);
    // Later events are ignored.
    pc.candidate({ candidate: udpHost });
    expect(outcome).toBe('timeout');
  });

  it('uses injected timers', async () => {
    const pc = new FakePeer();
    let fire: (() => void) | null = null;
    const timers = { setTimeout: vi.fn((fn: () => void) => ((fire = fn), 7)), clearTimeout: vi.fn() };
    const p = waitForIceGathering(pc, 250, timers);
    expect(timers.setTimeout).toHaveBeenCalledWith(expect.any(Function), 250);
    fire!();
    await expect(p).resolves.toBe('timeout');
    expect(timers.clearTimeout).toHaveBeenCalledWith(7);
  });
});

describe('waiting for STUN/TURN candidates', () => {
  it('picks what to wait for from the servers', () => {
    expect(gatherTarget([])).toBe('host');
    expect(gatherTarget([{ urls: 'stun:stun.example.org' }])).toBe('srflx');
    expect(gatherTarget([{ urls: ['stun:s.example', 'turns:t.example:5349'], username: 'u', credential: 'p' }])).toBe(
      'relay',
    );
  });

  it('recognises candidate types', () => {
    expect(isUdpCandidateOfType({ candidate: udpSrflx }, 'srflx')).toBe(true);
    expect(isUdpCandidateOfType({ candidate: udpRelay }, 'relay')).toBe(true);
    expect(isUdpCandidateOfType({ candidate: udpHost }, 'relay')).toBe(false);
  });

  it('waits past host candidates for a relayed one', async () => {
    vi.useFakeTimers();
    const pc = new FakePeer();
    let outcome: string | null = null;
    const p = waitForIceGathering(pc, 3000, undefined, 'relay').then((o) => (outcome = o));
    pc.candidate({ candidate: udpHost });
    pc.candidate({ candidate: udpSrflx });
    await Promise.resolve();
    expect(outcome).toBeNull();
    pc.candidate({ candidate: udpRelay });
    await p;
    expect(outcome).toBe('candidate');
    expect(pc.listenerCount()).toBe(0);
  });

  it('gives up on an unreachable server at the timeout', async () => {
    vi.useFakeTimers();
    const pc = new FakePeer();
    const p = waitForIceGathering(pc, 3000, undefined, 'srflx');
    pc.candidate({ candidate: udpHost });
    vi.advanceTimersByTime(3000);
    await expect(p).resolves.toBe('timeout');
  });
});

describe('parseIceServers', () => {
  it('accepts RTCIceServer dictionaries and treats absence as none', () => {
    expect(parseIceServers(undefined)).toEqual([]);
    expect(parseIceServers(null)).toEqual([]);
    expect(
      parseIceServers([
        { urls: 'stun:stun.example.org:3478' },
        { urls: ['turn:t.example?transport=udp', 'turns:t.example:5349'], username: 'u', credential: 'p' },
      ]),
    ).toEqual([
      { urls: 'stun:stun.example.org:3478' },
      { urls: ['turn:t.example?transport=udp', 'turns:t.example:5349'], username: 'u', credential: 'p' },
    ]);
  });

  it('drops unknown fields', () => {
    expect(parseIceServers([{ urls: 'stun:s.example', extra: 1 }])).toEqual([{ urls: 'stun:s.example' }]);
  });

  it('says what is wrong', () => {
    expect(parseIceServers('stun:x')).toMatch(/must be an array/);
    expect(parseIceServers([42])).toMatch(/ice_servers\[0\] must be an object/);
    expect(parseIceServers([{ urls: [] }])).toMatch(/urls must be a URL or a non-empty list/);
    expect(parseIceServers([{ urls: 7 }])).toMatch(/urls must be a URL or a non-empty list/);
    expect(parseIceServers([{ urls: 'http://x' }])).toMatch(/stun:, stuns:, turn: or turns:/);
    expect(parseIceServers([{ urls: 'turn:t.example', username: 'u' }])).toMatch(/without username and credential/);
    expect(parseIceServers([{ urls: 'stun:s', username: 5 }])).toMatch(/username must be a string/);
    expect(parseIceServers(Array(MAX_ICE_SERVERS + 1).fill({ urls: 'stun:s' }))).toMatch(/more than/);
  });
});
