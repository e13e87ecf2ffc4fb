import { describe, expect, it, vi, afterEach } from 'vitest';
import { isUdpHostCandidate, waitForIceGathering, type IceCandidateLike, type IceEventSource } from './ice';

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
