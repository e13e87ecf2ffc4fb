import type { ConnectionState } from '../connection';

const LABELS: Record<ConnectionState, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Listening',
  error: 'Connection failed',
};

export interface ControlsProps {
  state: ConnectionState;
  serverState: string | null;
  speaking: boolean;
  /** The assistant's spoken reply is playing. */
  replying?: boolean;
  onStart(): void;
  onStop(): void;
}

export function Controls({ state, serverState, speaking, replying = false, onStart, onStop }: ControlsProps) {
  const running = state === 'connecting' || state === 'connected';
  return (
    <div className="controls">
      <div className="buttons">
        <button type="button" className="primary" data-testid="start" onClick={onStart} disabled={running}>
          <span aria-hidden="true" className="dot" /> Start
        </button>
        <button type="button" className="secondary" data-testid="stop" onClick={onStop} disabled={!running}>
          Stop
        </button>
      </div>
      <dl className="state">
        <div>
          <dt>Connection</dt>
          <dd className={`status status-${state}`} aria-live="polite">
            <span className="visually-hidden">{LABELS[state]}: </span>
            <span data-testid="status">{state}</span>
          </dd>
        </div>
        <div>
          <dt>Voice</dt>
          <dd
            className={`speaking${speaking ? ' on' : ''}`}
            data-testid="speaking"
            data-speaking={speaking ? 'true' : 'false'}
          >
            <span aria-hidden="true" className="pulse" />
            {speaking ? 'Speaking' : 'Silent'}
          </dd>
        </div>
        <div>
          <dt>Assistant</dt>
          <dd data-testid="replying" data-replying={replying ? 'true' : 'false'}>
            {replying ? 'Talking' : 'Quiet'}
          </dd>
        </div>
        {serverState && (
          <div>
            <dt>Server</dt>
            <dd data-testid="server-state">{serverState}</dd>
          </div>
        )}
      </dl>
    </div>
  );
}
