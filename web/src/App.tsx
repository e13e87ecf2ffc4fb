import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { connectionReducer, initialConnection } from './connection';
import { createTimeline, timelineReducer } from './timeline';
import { createSignalingClient } from './signaling';
import { openMicrophone } from './media';
import { VoiceSession } from './session';
import { startLevelMeter } from './meter';
import type { ServerEvent } from './protocol';
import { Controls } from './components/Controls';
import { LevelMeter } from './components/LevelMeter';
import { Timeline } from './components/Timeline';

const MAX_NOTICES = 3;

export function App() {
  const [connection, dispatchConnection] = useReducer(connectionReducer, initialConnection);
  const [timeline, dispatchTimeline] = useReducer(timelineReducer, undefined, () => createTimeline());
  const [level, setLevel] = useState(0);
  const [speaking, setSpeaking] = useState(false);
  const [serverState, setServerState] = useState<string | null>(null);
  const [notices, setNotices] = useState<string[]>([]);
  const session = useRef<VoiceSession | null>(null);
  const stopMeter = useRef<(() => void) | null>(null);
  const remoteAudio = useRef<HTMLAudioElement | null>(null);

  const notify = useCallback((message: string) => {
    setNotices((n) => [...n.filter((m) => m !== message), message].slice(-MAX_NOTICES));
  }, []);

  const onServerEvent = useCallback(
    (event: ServerEvent) => {
      switch (event.type) {
        case 'transcript':
          dispatchTimeline({ type: 'add', event, receivedAt: Date.now() });
          break;
        case 'vad':
          setSpeaking(event.speaking);
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
    setServerState(null);
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
          if (remoteAudio.current) remoteAudio.current.srcObject = stream;
        },
      },
    );
    session.current = s;
    void s.start();
  }, [notify, onServerEvent]);

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

  const errors = connection.error ? [connection.error, ...notices] : notices;

  return (
    <div className="app">
      <header className="app-header">
        <h1>
          voice<span>desk</span>
        </h1>
        <p className="tagline">Talk; your words appear below.</p>
      </header>

      <main>
        <section className="panel" aria-label="Voice session">
          <Controls
            state={connection.state}
            serverState={serverState}
            speaking={speaking}
            onStart={start}
            onStop={stop}
          />
          <LevelMeter level={level} active={connection.state !== 'idle' && connection.state !== 'error'} />
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

        <Timeline entries={timeline.entries} onClear={() => dispatchTimeline({ type: 'clear' })} />
      </main>
      <audio ref={remoteAudio} autoPlay hidden />
    </div>
  );
}
