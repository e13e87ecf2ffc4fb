import { describe, expect, it, vi } from 'vitest';
import { VoiceSession, TRANSCRIPT_CHANNEL, type SessionCallbacks } from './session';
import type { SessionInfo, SignalingClient } from './signaling';
import type { ConnectionEvent } from './connection';
import { MicrophoneError } from './media';

const UDP_HOST = 'candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host';

class FakeChannel {
  readyState: RTCDataChannelState = 'connecting';
  sent: string[] = [];
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly label: string) {}
  send(data: string) {
    this.sent.push(data);
  }
}

class FakePeer {
  connectionState: RTCPeerConnectionState = 'new';
  iceGatheringState = 'new';
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  channels: FakeChannel[] = [];
  transceivers: Array<{ track: unknown; init: unknown }> = [];
  offersCreated = 0;
  closed = false;
  onconnectionstatechange: (() => void) | null = null;
  ontrack: ((e: unknown) => void) | null = null;
  log: string[] = [];
  private listeners = new Map<string, Set<(e: any) => void>>();
  addEventListener(t: string, l: (e: any) => void) {
    if (!this.listeners.has(t)) this.listeners.set(t, new Set());
    this.listeners.get(t)!.add(l);
  }
  removeEventListener(t: string, l: (e: any) => void) {
    this.listeners.get(t)?.delete(l);
  }
  createDataChannel(label: string) {
    this.log.push(`channel:${label}`);
    const c = new FakeChannel(label);
    this.channels.push(c);
    return c;
  }
  addTransceiver(track: unknown, init: unknown) {
    this.log.push('transceiver');
    this.transceivers.push({ track, init });
  }
  async createOffer() {
    this.log.push('offer');
    this.offersCreated++;
    return { type: 'offer', sdp: 'v=0\r\noffer-without-candidates\r\n' };
  }
  async setLocalDescription(d: { type: string; sdp: string }) {
    this.localDescription = d;
    this.iceGatheringState = 'gathering';
    queueMicrotask(() => {
      this.localDescription = { type: 'offer', sdp: `${d.sdp}a=${UDP_HOST}\r\n` };
      this.listeners.get('icecandidate')?.forEach((l) => l({ candidate: { candidate: UDP_HOST } }));
    });
  }
  async setRemoteDescription(d: { type: string; sdp: string }) {
    this.remoteDescription = d;
    queueMicrotask(() => this.setState('connected'));
  }
  /** A later candidate (server-reflexive, relayed), as the browser trickles it. */
  emitCandidate(candidate: string) {
    this.localDescription = { type: 'offer', sdp: `${this.localDescription?.sdp ?? ''}a=${candidate}\r\n` };
    this.listeners.get('icecandidate')?.forEach((l) => l({ candidate: { candidate } }));
  }
  setState(s: RTCPeerConnectionState) {
    this.connectionState = s;
    this.onconnectionstatechange?.();
  }
  close() {
    this.closed = true;
    this.connectionState = 'closed';
  }
}

function setup(
  opts: { mic?: () => Promise<MediaStream>; signaling?: Partial<SignalingClient>; iceServers?: RTCIceServer[] } = {},
) {
  const trackStop = vi.fn();
  const track = { kind: 'audio', stop: trackStop };
  const stream = { getAudioTracks: () => [track], getTracks: () => [track] } as unknown as MediaStream;
  const pc = new FakePeer();
  const calls: string[] = [];
  const signaling: SignalingClient = {
    createSession: vi.fn(async () => {
      calls.push('create');
      return { id: 'sess-1', iceServers: opts.iceServers ?? [] };
    }),
    sendOffer: vi.fn(async (id: string) => {
      calls.push(`offer:${id}`);
      return 'v=0\r\nanswer\r\n';
    }),
    deleteSession: vi.fn(async (id: string) => {
      calls.push(`delete:${id}`);
    }),
    ...opts.signaling,
  };
  const events: ConnectionEvent[] = [];
  const cb: SessionCallbacks = {
    onConnection: (e) => events.push(e),
    onServerEvent: vi.fn(),
    onProtocolError: vi.fn(),
    onLocalStream: vi.fn(),
  };
  const deps = {
    signaling,
    openMicrophone: opts.mic ?? (async () => stream),
    createPeerConnection: vi.fn((_servers: RTCIceServer[]) => pc as unknown as RTCPeerConnection),
    connectTimeoutMs: 1000,
  };
  const session = new VoiceSession(deps, cb);
  return { session, pc, signaling, events, cb, calls, trackStop, stream, deps };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('VoiceSession', () => {
  it('connects: channel and track before the offer, offer sent with its UDP candidate', async () => {
    const { session, pc, signaling, events, cb, stream } = setup();
    await session.start();
    await flush();
    expect(pc.log).toEqual([`channel:${TRANSCRIPT_CHANNEL}`, 'transceiver', 'offer']);
    expect(pc.transceivers[0].init).toMatchObject({ direction: 'sendrecv' });
    expect(signaling.sendOffer).toHaveBeenCalledWith('sess-1', expect.stringContaining('typ host'), expect.anything());
    expect(pc.remoteDescription).toEqual({ type: 'answer', sdp: 'v=0\r\nanswer\r\n' });
    expect(events.map((e) => e.type)).toEqual(['start', 'connected']);
    expect(cb.onLocalStream).toHaveBeenCalledWith(stream);
    await session.stop();
  });

  it('uses the ICE servers of the session and waits for a relayed candidate with TURN', async () => {
    const iceServers = [
      { urls: 'stun:stun.example.org:3478' },
      { urls: 'turn:turn.example.org:3478?transport=udp', username: 'u', credential: 'p' },
    ];
    const { session, pc, signaling, deps } = setup({ iceServers });
    const starting = session.start();
    await flush();
    expect(deps.createPeerConnection).toHaveBeenCalledWith(iceServers);
    // The host candidate alone does not reach a browser behind NAT: no offer yet.
    expect(signaling.sendOffer).not.toHaveBeenCalled();
    pc.emitCandidate('candidate:3 1 udp 1686052607 203.0.113.5 40000 typ srflx raddr 192.168.1.20 rport 54321');
    await flush();
    expect(signaling.sendOffer).not.toHaveBeenCalled();
    pc.emitCandidate('candidate:4 1 udp 41885439 198.51.100.7 50000 typ relay raddr 203.0.113.5 rport 40000');
    await starting;
    expect(signaling.sendOffer).toHaveBeenCalledWith('sess-1', expect.stringContaining('typ relay'), expect.anything());
    await session.stop();
  });

  it('delivers server events and reports malformed ones', async () => {
    const { session, pc, cb } = setup();
    await session.start();
    const channel = pc.channels[0];
    channel.onmessage?.({ data: '{"type":"vad","speaking":true}' });
    channel.onmessage?.({ data: '{"type":"vad"' });
    expect(cb.onServerEvent).toHaveBeenCalledWith({ type: 'vad', speaking: true });
    expect(cb.onProtocolError).toHaveBeenCalledWith(expect.stringMatching(/malformed.*not valid JSON/));
    await session.stop();
  });

  it('stop sends bye, deletes the session, closes and releases the microphone', async () => {
    const { session, pc, events, calls, trackStop } = setup();
    await session.start();
    await flush();
    pc.channels[0].readyState = 'open';
    await session.stop();
    expect(pc.channels[0].sent).toEqual(['{"type":"bye"}']);
    expect(calls).toEqual(['create', 'offer:sess-1', 'delete:sess-1']);
    expect(pc.closed).toBe(true);
    expect(trackStop).toHaveBeenCalled();
    expect(events.at(-1)).toEqual({ type: 'stop' });
    await session.stop(); // idempotent
    expect(events.filter((e) => e.type === 'stop')).toHaveLength(1);
  });

  it('sends client messages on the open channel only', async () => {
    const { session, pc } = setup();
    expect(session.canSend).toBe(false);
    expect(session.send({ type: 'user_text', text: 'hi' })).toEqual({
      ok: false,
      error: 'Not sent: the session is not connected.',
    });
    await session.start();
    await flush();
    const channel = pc.channels[0];
    expect(session.send({ type: 'confirm', answer: 'yes' }).ok).toBe(false); // still connecting
    channel.readyState = 'open';
    expect(session.canSend).toBe(true);
    expect(session.send({ type: 'user_text', text: '  read my mail ' })).toEqual({ ok: true });
    expect(session.send({ type: 'confirm', answer: 'no' })).toEqual({ ok: true });
    expect(session.send({ type: 'user_text', text: '   ' })).toEqual({
      ok: false,
      error: 'Not sent: the message is empty.',
    });
    expect(channel.sent).toEqual(['{"type":"user_text","text":"read my mail"}', '{"type":"confirm","answer":"no"}']);
    channel.send = () => {
      throw new Error('channel closing');
    };
    expect(session.send({ type: 'confirm', answer: 'yes' })).toEqual({ ok: false, error: 'Not sent: channel closing' });
    await session.stop();
    expect(session.canSend).toBe(false);
    expect(session.send({ type: 'confirm', answer: 'yes' }).ok).toBe(false);
  });

  it('fails with the microphone message and creates no session when denied', async () => {
    const { session, events, signaling } = setup({
      mic: async () => {
        throw new MicrophoneError('Microphone access was denied.', 'denied');
      },
    });
    await session.start();
    expect(events).toEqual([{ type: 'start' }, { type: 'fail', message: 'Microphone access was denied.' }]);
    expect(signaling.createSession).not.toHaveBeenCalled();
  });

  it('fails and cleans up when signaling fails', async () => {
    const { session, pc, events, calls } = setup({
      signaling: {
        sendOffer: async () => {
          throw new Error('sending the offer failed: HTTP 500');
        },
      },
    });
    await session.start();
    await flush();
    expect(events.at(-1)).toEqual({ type: 'fail', message: 'sending the offer failed: HTTP 500' });
    expect(calls).toContain('delete:sess-1');
    expect(pc.closed).toBe(true);
  });

  it('reports a lost connection', async () => {
    const { session, pc, events } = setup();
    await session.start();
    await flush();
    pc.setState('failed');
    expect(events.at(-1)).toMatchObject({ type: 'fail', message: expect.stringMatching(/lost/) });
  });

  it('stopping while the session is being created deletes it and does not fail', async () => {
    let release: (id: string) => void = () => {};
    const { session, events, calls, pc } = setup({
      signaling: {
        createSession: () => new Promise<SessionInfo>((r) => (release = (id) => r({ id, iceServers: [] }))),
      },
    });
    const starting = session.start();
    await flush();
    await session.stop();
    release('late');
    await starting;
    await flush();
    expect(events.map((e) => e.type)).toEqual(['start', 'stop']);
    expect(calls).toContain('delete:late');
    expect(pc.offersCreated).toBe(0);
  });
});
