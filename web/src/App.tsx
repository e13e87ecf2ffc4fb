import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { connectionReducer, initialConnection } from './connection';
import { conversationReducer, createConversation, downloadConversation, pendingReply } from './conversation';
import { createSignalingClient } from './signaling';
import { openMicrophone } from './media';
import { VoiceSession } from './session';
import { startLevelMeter } from './meter';
import type { ClientMessage, ServerEvent } from './protocol';
import { Controls } from './components/Controls';
import { LevelMeter } from './components/LevelMeter';
import { Conversation } from './components/Conversation';

const MAX_NOTICES = 3;

export function App() {
  const [connection, dispatchConnection] = useReducer(connectionReducer, initialConnection);
  const [conversation, dispatchConversation] = useReducer(conversationReducer, undefined, () => createConversation());
  const [audioBlocked, setAudioBlocked] = useState(false);
  const [level, setLevel] = useState(0);
  const [speaking, setSpeaking] = useState(false);
  const [replying, setReplying] = useState(false);
  const [serverState, setServerState] = useState<string | null>(null);
  const [notices, setNotices] = useState<string[]>([]);
  const session = useRef<VoiceSession | null>(null);
  const stopMeter = useRef<(() => void) | null>(null);
  const remoteAudio = useRef<HTMLAudioElement | null>(null);

  const notify = useCallback((message: string) => {
    setNotices((n) => [...n.filter((m) => m !== message), message].slice(-MAX_NOTICES));
  }, []);

  // Autoplay is attempted on the spoken reply; a browser that blocks it gets a button.
  const playRemote = useCallback((audio: HTMLAudioElement) => {
    audio.play().then(
      () => setAudioBlocked(false),
      (err: unknown) => {
        if (err instanceof DOMException && err.name === 'NotAllowedError') setAudioBlocked(true);
      },
    );
  }, []);

  const onServerEvent = useCallback(
    (event: ServerEvent) => {
      switch (event.type) {
        case 'transcript':
          dispatchConversation({ type: 'transcript', event, at: Date.now() });
          break;
        case 'agent':
          dispatchConversation({ type: 'agent', event, at: Date.now() });
          break;
        case 'vad':
          setSpeaking(event.speaking);
          break;
        case 'speech':
          setReplying(event.state === 'started');
          break;
        case 'status':
          setServerState(event.state);
          break;
        case 'error':
          notify(`Server: ${event.message}`);
          break;
      }
    },
    [notify],
  );

  const start = useCallback(() => {
    if (session.current) return;
    setNotices([]);
    setSpeaking(false);
    setReplying(false);
    setServerState(null);
    dispatchConversation({ type: 'session' });
    const s = new VoiceSession(
      {
        signaling: createSignalingClient(),
        openMicrophone: () => openMicrophone(navigator.mediaDevices, window.isSecureContext),
        createPeerConnection: (iceServers) => new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers }),
      },
      {
        onConnection: (event) => {
          dispatchConnection(event);
          if (event.type === 'fail' || event.type === 'stop') {
            if (session.current === s) session.current = null;
            setSpeaking(false);
            setReplying(false);
          }
        },
        onServerEvent,
        onProtocolError: notify,
        onLocalStream: (stream) => {
          stopMeter.current?.();
          stopMeter.current = stream ? startLevelMeter(stream, setLevel) : null;
          if (!stream) setLevel(0);
        },
        onRemoteStream: (stream) => {
          const audio = remoteAudio.current;
          if (!audio) return;
          audio.srcObject = stream;
          if (stream) playRemote(audio);
          else setAudioBlocked(false);
        },
      },
    );
    session.current = s;
    void s.start();
  }, [notify, onServerEvent, playRemote]);

  const stop = useCallback(() => {
    const s = session.current;
    session.current = null;
    if (s) void s.stop();
    else dispatchConnection({ type: 'stop' });
  }, []);

  // Leaving the page ends the session on the server too.
  useEffect(() => {
    const onHide = () => void session.current?.stop();
    window.addEventListener('pagehide', onHide);
    return () => {
      window.removeEventListener('pagehide', onHide);
      void session.current?.stop();
      stopMeter.current?.();
    };
  }, []);

  /** Sends on the session's channel; a refusal is shown. */
  const send = useCallback(
    (message: ClientMessage): boolean => {
      const result = session.current?.send(message) ?? {
        ok: false as const,
        error: 'Not sent: the session is not connected.',
      };
      if (!result.ok) notify(result.error);
      return result.ok;
    },
    [notify],
  );
  const sendText = useCallback(
    (text: string) => {
      const sent = send({ type: 'user_text', text });
      if (sent) dispatchConversation({ type: 'typed', text: text.trim(), at: Date.now() });
      return sent;
    },
    [send],
  );
  const confirm = useCallback(
    (answer: 'yes' | 'no') => {
      if (send({ type: 'confirm', answer })) dispatchConversation({ type: 'answered', answer, at: Date.now() });
    },
    [send],
  );
  const download = useCallback(() => {
    downloadConversation(conversation, Date.now());
  }, [conversation]);
  const clearConversation = useCallback(() => dispatchConversation({ type: 'clear' }), []);

  const errors = connection.error ? [connection.error, ...notices] : notices;

  return (
    <div className="app">
      <header className="app-header">
        <h1>
          voice<span>desk</span>
        </h1>
        <p className="tagline">Talk or type; the assistant answers aloud and below.</p>
      </header>

      <main>
        <section className="panel" aria-label="Voice session">
          <Controls
            state={connection.state}
            serverState={serverState}
            speaking={speaking}
            replying={replying}
            onStart={start}
            onStop={stop}
          />
          <LevelMeter level={level} active={connection.state !== 'idle' && connection.state !== 'error'} />
          {audioBlocked && (
            <p className="audio-blocked">
              The browser blocked the spoken reply.{' '}
              <button
                type="button"
                className="secondary"
                data-testid="play-audio"
                onClick={() => remoteAudio.current && playRemote(remoteAudio.current)}
              >
                Play audio
              </button>
            </p>
          )}
          {errors.length > 0 && (
            <div className="alert" role="alert">
              <ul>
                {errors.map((m) => (
                  <li key={m}>{m}</li>
                ))}
              </ul>
              <button type="button" className="link" onClick={() => setNotices([])} hidden={notices.length === 0}>
                Dismiss
              </button>
            </div>
          )}
        </section>

        <Conversation
          turns={conversation.turns}
          pending={pendingReply(conversation)}
          connected={connection.state === 'connected'}
          onSend={sendText}
          onConfirm={confirm}
          onDownload={download}
          onClear={clearConversation}
        />
      </main>
      <audio ref={remoteAudio} autoPlay hidden data-testid="remote-audio" />
    </div>
  );
}
