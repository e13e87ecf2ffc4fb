// Non-trickle ICE, fast: the offer goes out as soon as ICE gathering has
// produced the candidate it needs, or gathering completes, or the timeout
// passes, whichever comes first. Without STUN/TURN servers the first UDP host
// candidate is enough (1 s timeout); with them, the offer waits for a
// server-reflexive (STUN) or relayed (TURN) candidate, because a peer behind
// NAT is reachable only through those (3 s timeout).

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

/** The candidate the offer waits for: a UDP host, server-reflexive or relayed one. */
export type GatherTarget = 'host' | 'srflx' | 'relay';

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const defaultTimers: TimerApi = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

export const DEFAULT_GATHER_TIMEOUT_MS = 1000;
/** With STUN/TURN servers: TURN allocation takes a few round trips to the server. */
export const SERVER_GATHER_TIMEOUT_MS = 3000;

/** True for a UDP host candidate (fields when the browser fills them, else the SDP line). */
export function isUdpHostCandidate(c: IceCandidateLike | null | undefined): boolean {
  return isUdpCandidateOfType(c, 'host');
}

/** True for a UDP candidate of the given type (host, srflx, relay). */
export function isUdpCandidateOfType(c: IceCandidateLike | null | undefined, wanted: GatherTarget): boolean {
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
  return protocol?.toLowerCase() === 'udp' && type?.toLowerCase() === wanted;
}

/** What to wait for with these servers: a relayed candidate with TURN, else a server-reflexive one with STUN. */
export function gatherTarget(servers: readonly RTCIceServer[]): GatherTarget {
  const urls = servers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
  if (urls.some((u) => /^turns?:/i.test(u))) return 'relay';
  if (urls.some((u) => /^stuns?:/i.test(u))) return 'srflx';
  return 'host';
}

/** At most this many servers are accepted from the server's reply. */
export const MAX_ICE_SERVERS = 16;

/**
 * Validates the "ice_servers" of a POST /session reply (RTCIceServer
 * dictionaries); absent means none. Returns the list or a readable error.
 * TURN entries need a username and credential: the browser refuses them otherwise.
 */
export function parseIceServers(value: unknown): RTCIceServer[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return 'ice_servers must be an array';
  if (value.length > MAX_ICE_SERVERS) return `ice_servers has more than ${MAX_ICE_SERVERS} entries`;
  const servers: RTCIceServer[] = [];
  for (const [i, entry] of value.entries()) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return `ice_servers[${i}] must be an object`;
    const { urls, username, credential } = entry as Record<string, unknown>;
    const raw: unknown[] = typeof urls === 'string' ? [urls] : Array.isArray(urls) ? urls : [];
    if (raw.length === 0 || !raw.every((u): u is string => typeof u === 'string'))
      return `ice_servers[${i}].urls must be a URL or a non-empty list of URLs`;
    const list = raw as string[];
    if (!list.every((u) => /^(stuns?|turns?):\S+$/i.test(u)))
      return `ice_servers[${i}].urls must be stun:, stuns:, turn: or turns: URLs`;
    if (username !== undefined && typeof username !== 'string') return `ice_servers[${i}].username must be a string`;
    if (credential !== undefined && typeof credential !== 'string')
      return `ice_servers[${i}].credential must be a string`;
    const turn = list.some((u) => /^turns?:/i.test(u));
    if (turn && (!username || !credential)) return `ice_servers[${i}] is a TURN server without username and credential`;
    const server: RTCIceServer = { urls: typeof urls === 'string' ? urls : list };
    if (username !== undefined) server.username = username;
    if (credential !== undefined) server.credential = credential;
    servers.push(server);
  }
  return servers;
}

/**
 * Resolves with why it stopped waiting: a UDP candidate of type `target`
 * arrived, gathering completed, or the timeout passed. Call it before
 * setLocalDescription so no candidate event is missed. Never rejects.
 */
export function waitForIceGathering(
  pc: IceEventSource,
  timeoutMs = DEFAULT_GATHER_TIMEOUT_MS,
  timers: TimerApi = defaultTimers,
  target: GatherTarget = 'host',
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
      else if (isUdpCandidateOfType(event.candidate, target)) finish('candidate');
    };
    const onState = () => {
      if (pc.iceGatheringState === 'complete') finish('complete');
    };
    const timer = timers.setTimeout(() => finish('timeout'), timeoutMs);
    pc.addEventListener('icecandidate', onCandidate);
    pc.addEventListener('icegatheringstatechange', onState);
  });
}
