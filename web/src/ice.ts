// Non-trickle ICE, fast: the offer goes out as soon as ICE gathering has
// produced the first UDP host candidate, or gathering completes, or the
// timeout (1 s) passes, whichever comes first.

export interface IceCandidateLike {
  candidate: string;
  protocol?: string | null;
  type?: string | null;
}

/** The parts of RTCPeerConnection the helper uses (a fake in tests). */
export interface IceEventSource {
  readonly iceGatheringState: string;
  addEventListener(type: string, listener: (event: any) => void): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
}

export type GatherOutcome = 'candidate' | 'complete' | 'timeout';

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const defaultTimers: TimerApi = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

export const DEFAULT_GATHER_TIMEOUT_MS = 1000;

/** True for a UDP host candidate (fields when the browser fills them, else the SDP line). */
export function isUdpHostCandidate(c: IceCandidateLike | null | undefined): boolean {
  if (!c || !c.candidate) return false;
  let protocol = c.protocol ?? null;
  let type = c.type ?? null;
  if (!protocol || !type) {
    // candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> ...
    const parts = c.candidate.replace(/^a=/, '').trim().split(/\s+/);
    if (parts.length >= 8 && parts[6] === 'typ') {
      protocol = protocol || parts[2];
      type = type || parts[7];
    }
  }
  return protocol?.toLowerCase() === 'udp' && type?.toLowerCase() === 'host';
}

/**
 * Resolves with why it stopped waiting. Call it before setLocalDescription so
 * no candidate event is missed. Never rejects.
 */
export function waitForIceGathering(
  pc: IceEventSource,
  timeoutMs = DEFAULT_GATHER_TIMEOUT_MS,
  timers: TimerApi = defaultTimers,
): Promise<GatherOutcome> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve('complete');
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: GatherOutcome) => {
      if (done) return;
      done = true;
      timers.clearTimeout(timer);
      pc.removeEventListener('icecandidate', onCandidate);
      pc.removeEventListener('icegatheringstatechange', onState);
      resolve(outcome);
    };
    const onCandidate = (event: { candidate?: IceCandidateLike | null }) => {
      if (event.candidate == null) finish('complete'); // end-of-candidates
      else if (isUdpHostCandidate(event.candidate)) finish('candidate');
    };
    const onState = () => {
      if (pc.iceGatheringState === 'complete') finish('complete');
    };
    const timer = timers.setTimeout(() => finish('timeout'), timeoutMs);
    pc.addEventListener('icecandidate', onCandidate);
    pc.addEventListener('icegatheringstatechange', onState);
  });
}
