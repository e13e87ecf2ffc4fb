// The connection state machine: idle -> connecting -> connected -> idle/error.
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'error';

export type ConnectionEvent =
  | { type: 'start' }
  | { type: 'connected' }
  | { type: 'stop' }
  | { type: 'fail'; message: string };

export interface ConnectionMachine {
  state: ConnectionState;
  /** Set in the error state: what went wrong, for the user. */
  error: string | null;
}

export const initialConnection: ConnectionMachine = { state: 'idle', error: null };

const TRANSITIONS: Record<ConnectionState, Partial<Record<ConnectionEvent['type'], ConnectionState>>> = {
  idle: { start: 'connecting' },
  connecting: { connected: 'connected', stop: 'idle', fail: 'error' },
  connected: { stop: 'idle', fail: 'error' },
  error: { start: 'connecting', stop: 'idle' },
};

export function canTransition(state: ConnectionState, event: ConnectionEvent['type']): boolean {
  return TRANSITIONS[state][event] !== undefined;
}

export class InvalidTransitionError extends Error {
  constructor(
    readonly from: ConnectionState,
    readonly event: ConnectionEvent['type'],
  ) {
    super(`invalid connection transition: ${event} in state ${from}`);
    this.name = 'InvalidTransitionError';
  }
}

/** Strict: throws InvalidTransitionError on a transition the machine does not allow. */
export function transition(machine: ConnectionMachine, event: ConnectionEvent): ConnectionMachine {
  const next = TRANSITIONS[machine.state][event.type];
  if (next === undefined) throw new InvalidTransitionError(machine.state, event.type);
  return { state: next, error: event.type === 'fail' ? event.message : null };
}

/** For React's useReducer: an invalid transition leaves the state unchanged. */
export function connectionReducer(machine: ConnectionMachine, event: ConnectionEvent): ConnectionMachine {
  return canTransition(machine.state, event.type) ? transition(machine, event) : machine;
}
