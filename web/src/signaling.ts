// HTTP signaling with `voicedesk up` (same origin):
//   POST   /session              -> 201 {"id", "ice_servers": [RTCIceServer...]}
//   POST   /session/{id}/offer   body: SDP offer (application/sdp) -> 200 SDP answer
//   DELETE /session/{id}
import { parseIceServers } from './ice';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface SignalingOptions {
  /** Prefix for the endpoints; '' (same origin) by default. */
  baseUrl?: string;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: FetchLike;
}

export class SignalingError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SignalingError';
  }
}

/** A new server session and the STUN/TURN servers its peer connection should use. */
export interface SessionInfo {
  id: string;
  iceServers: RTCIceServer[];
}

export interface SignalingClient {
  createSession(signal?: AbortSignal): Promise<SessionInfo>;
  sendOffer(id: string, sdp: string, signal?: AbortSignal): Promise<string>;
  deleteSession(id: string): Promise<void>;
}

async function describeFailure(what: string, response: Response): Promise<SignalingError> {
  let detail = '';
  try {
    detail = (await response.text()).trim().slice(0, 200);
  } catch {
    // body unreadable: the status says enough
  }
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new SignalingError(`${what} failed: HTTP ${status}${detail ? ` (${detail})` : ''}`, response.status);
}

export function createSignalingClient(options: SignalingOptions = {}): SignalingClient {
  const base = (options.baseUrl ?? '').replace(/\/+$/, '');
  // Wrapped so the global fetch is never called with a foreign `this`.
  const doFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  const request = async (what: string, url: string, init: RequestInit): Promise<Response> => {
    try {
      return await doFetch(url, init);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new SignalingError(`${what} failed: server unreachable (${(err as Error)?.message ?? err})`);
    }
  };
  const sessionUrl = (id: string) => `${base}/session/${encodeURIComponent(id)}`;

  return {
    async createSession(signal) {
      const response = await request('creating a session', `${base}/session`, {
        method: 'POST',
        headers: { Accept: 'application/json' },
        signal,
      });
      if (response.status !== 201 && response.status !== 200)
        throw await describeFailure('creating a session', response);
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        throw new SignalingError('creating a session failed: the reply is not JSON', response.status);
      }
      const reply = body as { id?: unknown; ice_servers?: unknown } | null;
      const id = reply?.id;
      if (typeof id !== 'string' || id.length === 0)
        throw new SignalingError('creating a session failed: the reply has no session id', response.status);
      const iceServers = parseIceServers(reply?.ice_servers);
      if (typeof iceServers === 'string')
        throw new SignalingError(`creating a session failed: ${iceServers}`, response.status);
      return { id, iceServers };
    },

    async sendOffer(id, sdp, signal) {
      const response = await request('sending the offer', `${sessionUrl(id)}/offer`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Accept: 'application/sdp' },
        body: sdp,
        signal,
      });
      if (!response.ok) throw await describeFailure('sending the offer', response);
      const answer = await response.text();
      if (!answer.startsWith('v=0'))
        throw new SignalingError('sending the offer failed: the reply is not an SDP answer', response.status);
      return answer;
    },

    async deleteSession(id) {
      const response = await request('ending the session', sessionUrl(id), {
        method: 'DELETE',
        keepalive: true,
      });
      // 404: already gone (server timed it out); that is what we wanted.
      if (!response.ok && response.status !== 404) throw await describeFailure('ending the session', response);
    },
  };
}
