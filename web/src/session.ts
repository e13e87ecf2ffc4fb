// One voice session: microphone -> RTCPeerConnection (audio + "transcript"
// DataChannel) -> HTTP signaling -> server events. Browser objects are
// injected so the flow can be driven by fakes in tests.
import type { ConnectionEvent } from './connection';
import {
  gatherTarget,
  waitForIceGathering,
  DEFAULT_GATHER_TIMEOUT_MS,
  SERVER_GATHER_TIMEOUT_MS,
  type IceEventSource,
} from './ice';
import { encodeClientMessage, parseServerMessage, type ClientMessage, type ServerEvent } from './protocol';
import type { SignalingClient } from './signaling';

export interface SessionCallbacks {
  /** Connection state machine events. */
  onConnection(event: ConnectionEvent): void;
  onServerEvent(event: ServerEvent): void;
  /** A malformed server message (shown, not fatal). */
  onProtocolError(message: string): void;
  onLocalStream?(stream: MediaStream | null): void;
  onRemoteStream?(stream: MediaStream | null): void;
}

export interface SessionDeps {
  signaling: SignalingClient;
  openMicrophone(): Promise<MediaStream>;
  /** With the STUN/TURN servers the server named for this session. */
  createPeerConnection(iceServers: RTCIceServer[]): RTCPeerConnection;
  /** Overrides the ICE gathering timeout (1 s, or 3 s with STUN/TURN servers). */
  gatherTimeoutMs?: number;
  /** Give up when ICE/DTLS has not connected this long after the answer. */
  connectTimeoutMs?: number;
}

export const TRANSCRIPT_CHANNEL = 'transcript';

/** What `send` did: sent, or why not (a sentence to show the user). */
export type SendResult = { ok: true } | { ok: false; error: string };

class Cancelled extends Error {}

function sendOn(channel: RTCDataChannel | null, message: ClientMessage): SendResult {
  const encoded = encodeClientMessage(message);
  if (!encoded.ok) return { ok: false, error: `Not sent: ${encoded.error}.` };
  if (!channel || channel.readyState !== 'open') return { ok: false, error: 'Not sent: the session is not connected.' };
  try {
    channel.send(encoded.data);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: `Not sent: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export class VoiceSession {
  private pc: RTCPeerConnection | null = null;
  private channel: RTCDataChannel | null = null;
  private stream: MediaStream | null = null;
  private sessionId: string | null = null;
  private closed = false;
  private connected = false;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly abort = new AbortController();

  constructor(
    private readonly deps: SessionDeps,
    private readonly cb: SessionCallbacks,
  ) {}

  /** Runs the whole start-up; failures end in a 'fail' event (never rejects). */
  async start(): Promise<void> {
    this.cb.onConnection({ type: 'start' });
    try {
      const stream = await this.deps.openMicrophone();
      if (this.closed) {
        stream.getTracks().forEach((t) => t.stop());
        throw new Cancelled();
      }
      this.stream = stream;
      this.cb.onLocalStream?.(stream);

      // First the session: it names the STUN/TURN servers the connection needs.
      const { id, iceServers } = await this.deps.signaling.createSession(this.abort.signal);
      if (this.closed) {
        // Stopped while the session was being created: do not leak it.
        void this.deps.signaling.deleteSession(id).catch(() => undefined);
        throw new Cancelled();
      }
      this.sessionId = id;

      const pc = this.deps.createPeerConnection(iceServers);
      this.pc = pc;
      // The channel must exist before createOffer so the offer carries SCTP.
      const channel = pc.createDataChannel(TRANSCRIPT_CHANNEL, { ordered: true });
      this.channel = channel;
      channel.onmessage = (e) => this.onMessage(e.data);
      channel.onclose = () => {
        if (!this.closed && this.connected) this.fail('The server closed the session.');
      };
      for (const track of stream.getAudioTracks())
        pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
      pc.ontrack = (e) => this.cb.onRemoteStream?.(e.streams[0] ?? new MediaStream([e.track]));
      pc.onconnectionstatechange = () => this.onPeerState(pc.connectionState);

      const target = gatherTarget(iceServers);
      const gathered = waitForIceGathering(
        pc as unknown as IceEventSource,
        this.deps.gatherTimeoutMs ?? (target === 'host' ? DEFAULT_GATHER_TIMEOUT_MS : SERVER_GATHER_TIMEOUT_MS),
        undefined,
        target,
      );
      const offer = await pc.createOffer();
      this.check();
      await pc.setLocalDescription(offer);
      await gathered;
      this.check();
      const sdp = pc.localDescription?.sdp ?? offer.sdp ?? '';
      const answer = await this.deps.signaling.sendOffer(id, sdp, this.abort.signal);
      this.check();
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      this.check();
      this.onPeerState(pc.connectionState);
      if (!this.connected) {
        this.connectTimer = setTimeout(
          () => this.fail('Could not connect to the voicedesk server (no media path).'),
          this.deps.connectTimeoutMs ?? 15000,
        );
      }
    } catch (err) {
      if (err instanceof Cancelled || this.closed) return;
      this.fail(err instanceof Error ? err.message : String(err));
    }
  }

  /** User stop: bye over the channel, DELETE, close. Safe to call at any time, twice. */
  async stop(): Promise<void> {
    if (this.closed) return;
    await this.teardown();
    this.cb.onConnection({ type: 'stop' });
  }

  /** Whether the DataChannel is open, so that `send` can succeed. */
  get canSend(): boolean {
    return !this.closed && this.channel?.readyState === 'open';
  }

  /**
   * Sends a message on the open DataChannel. Refuses (never throws) when the
   * channel is not open or the message is invalid; the caller shows the error.
   */
  send(message: ClientMessage): SendResult {
    if (this.closed) return { ok: false, error: 'Not sent: the session is not connected.' };
    return sendOn(this.channel, message);
  }

  private check() {
    if (this.closed) throw new Cancelled();
  }

  private onPeerState(state: RTCPeerConnectionState) {
    if (this.closed) return;
    if (state === 'connected' && !this.connected) {
      this.connected = true;
      if (this.connectTimer) clearTimeout(this.connectTimer);
      this.connectTimer = null;
      this.cb.onConnection({ type: 'connected' });
    } else if (state === 'failed') {
      this.fail('The connection to the voicedesk server was lost.');
    }
  }

  private onMessage(data: unknown) {
    if (this.closed) return;
    const result = parseServerMessage(data);
    if (result.ok) this.cb.onServerEvent(result.event);
    else this.cb.onProtocolError(`Ignored a malformed server message: ${result.error}`);
  }

  private fail(message: string) {
    if (this.closed) return;
    void this.teardown();
    this.cb.onConnection({ type: 'fail', message });
  }

  private async teardown() {
    this.closed = true;
    this.abort.abort(); // in-flight createSession / sendOffer
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const channel = this.channel;
    sendOn(channel, { type: 'bye' }); // best effort: closing anyway
    const id = this.sessionId;
    this.sessionId = null;
    if (id) {
      try {
        await this.deps.signaling.deleteSession(id);
      } catch {
        // the server times sessions out; nothing more to do here
      }
    }
    if (channel) {
      channel.onmessage = null;
      channel.onclose = null;
    }
    this.channel = null;
    if (this.pc) {
      this.pc.onconnectionstatechange = null;
      this.pc.ontrack = null;
      this.pc.close();
    }
    this.pc = null;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.cb.onLocalStream?.(null);
    this.cb.onRemoteStream?.(null);
  }
}
