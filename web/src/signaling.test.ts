import { describe, expect, it, vi } from 'vitest';
import { createSignalingClient, SignalingError, type FetchLike } from './signaling';

const reply = (status: number, body: string, type = 'text/plain') =>
  new Response(status === 204 ? null : body, { status, headers: { 'Content-Type': type } });

function fakeFetch(...responses: Array<Response | Error>) {
  const calls: Array<{ url: string; init?: RequestInit }> = [];
  const fn = vi.fn<FetchLike>(async (url, init) => {
    calls.push({ url, init });
    const next = responses.shift();
    if (!next) throw new Error('unexpected request');
    if (next instanceof Error) throw next;
    return next;
  });
  return { fn, calls };
}

describe('signaling client', () => {
  it('creates a session with POST /session and reads the id', async () => {
    const { fn, calls } = fakeFetch(reply(201, '{"id":"abc123"}', 'application/json'));
    const client = createSignalingClient({ fetch: fn });
    await expect(client.createSession()).resolves.toEqual({ id: 'abc123', iceServers: [] });
    expect(calls[0].url).toBe('/session');
    expect(calls[0].init?.method).toBe('POST');
  });

  it('reads the STUN/TURN servers of the session', async () => {
    const servers = [
      { urls: 'stun:stun.example.org:3478' },
      { urls: 'turn:turn.example.org:3478?transport=udp', username: 'voicedesk', credential: 'p@ss' },
    ];
    const { fn } = fakeFetch(reply(201, JSON.stringify({ id: 's', ice_servers: servers }), 'application/json'));
    await expect(createSignalingClient({ fetch: fn }).createSession()).resolves.toEqual({ id: 's', iceServers: servers });
  });

  it('rejects malformed STUN/TURN servers with a readable error', async () => {
    const { fn } = fakeFetch(
      reply(201, '{"id":"s","ice_servers":{"urls":"stun:x"}}'),
      reply(201, '{"id":"s","ice_servers":[{"urls":"turn:t.example"}]}'),
    );
    const client = createSignalingClient({ fetch: fn });
    await expect(client.createSession()).rejects.toThrow(/creating a session failed: ice_servers must be an array/);
    await expect(client.createSession()).rejects.toThrow(/TURN server without username and credential/);
  });

  it('posts the offer as application/sdp and returns the answer', async () => {
    const answer = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n';
    const { fn, calls } = fakeFetch(reply(200, answer, 'application/sdp'));
    const client = createSignalingClient({ fetch: fn, baseUrl: 'http://127.0.0.1:8080/' });
    await expect(client.sendOffer('a/b', 'v=0\r\noffer')).resolves.toBe(answer);
    expect(calls[0].url).toBe('http://127.0.0.1:8080/session/a%2Fb/offer');
    expect(calls[0].init?.method).toBe('POST');
    expect((calls[0].init?.headers as Record<string, string>)['Content-Type']).toBe('application/sdp');
    expect(calls[0].init?.body).toBe('v=0\r\noffer');
  });

  it('deletes the session and tolerates 404', async () => {
    const { fn, calls } = fakeFetch(reply(204, ''), reply(404, 'no such session'));
    const client = createSignalingClient({ fetch: fn });
    await client.deleteSession('s1');
    await client.deleteSession('s1');
    expect(calls.map((c) => `${c.init?.method} ${c.url}`)).toEqual(['DELETE /session/s1', 'DELETE /session/s1']);
  });

  it('reports HTTP errors with status and body', async () => {
    const { fn } = fakeFetch(reply(503, 'too many sessions'));
    const err = await createSignalingClient({ fetch: fn }).createSession().catch((e) => e);
    expect(err).toBeInstanceOf(SignalingError);
    expect(err.status).toBe(503);
    expect(err.message).toMatch(/HTTP 503.*too many sessions/);
  });

  it('rejects a session reply without an id or not JSON', async () => {
    const { fn } = fakeFetch(reply(201, '{"session":"x"}', 'application/json'), reply(201, 'hello'));
    const client = createSignalingClient({ fetch: fn });
    await expect(client.createSession()).rejects.toThrow(/no session id/);
    await expect(client.createSession()).rejects.toThrow(/not JSON/);
  });

  it('rejects an answer that is not SDP', async () => {
    const { fn } = fakeFetch(reply(200, '<html>proxy</html>', 'text/html'));
    await expect(createSignalingClient({ fetch: fn }).sendOffer('s', 'v=0')).rejects.toThrow(/not an SDP answer/);
  });

  it('turns network failures into a SignalingError', async () => {
    const { fn } = fakeFetch(new TypeError('Failed to fetch'));
    await expect(createSignalingClient({ fetch: fn }).createSession()).rejects.toThrow(
      /server unreachable \(Failed to fetch\)/,
    );
  });

  it('passes the abort signal through', async () => {
    const { fn, calls } = fakeFetch(reply(201, '{"id":"x"}'));
    const ac = new AbortController();
    await createSignalingClient({ fetch: fn }).createSession(ac.signal);
    expect(calls[0].init?.signal).toBe(ac.signal);
  });
});
