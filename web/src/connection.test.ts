import { describe, expect, it } from 'vitest';
import {
  canTransition,
  connectionReducer,
  initialConnection,
  InvalidTransitionError,
  transition,
  type ConnectionMachine,
} from './connection';

describe('connection state machine', () => {
  it('runs the happy path idle -> connecting -> connected -> idle', () => {
    let m: ConnectionMachine = initialConnection;
    m = transition(m, { type: 'start' });
    expect(m.state).toBe('connecting');
    m = transition(m, { type: 'connected' });
    expect(m.state).toBe('connected');
    m = transition(m, { type: 'stop' });
    expect(m).toEqual({ state: 'idle', error: null });
  });

  it('records the failure message and recovers with start', () => {
    let m = transition(transition(initialConnection, { type: 'start' }), { type: 'fail', message: 'denied' });
    expect(m).toEqual({ state: 'error', error: 'denied' });
    m = transition(m, { type: 'start' });
    expect(m).toEqual({ state: 'connecting', error: null });
  });

  it('allows stopping while connecting and failing while connected', () => {
    const connecting = transition(initialConnection, { type: 'start' });
    expect(transition(connecting, { type: 'stop' }).state).toBe('idle');
    const connected = transition(connecting, { type: 'connected' });
    expect(transition(connected, { type: 'fail', message: 'lost' }).state).toBe('error');
  });

  it('rejects invalid transitions', () => {
    expect(() => transition(initialConnection, { type: 'connected' })).toThrow(InvalidTransitionError);
    expect(() => transition(initialConnection, { type: 'fail', message: 'x' })).toThrow(/fail in state idle/);
    const connected: ConnectionMachine = { state: 'connected', error: null };
    expect(() => transition(connected, { type: 'start' })).toThrow(InvalidTransitionError);
    expect(canTransition('error', 'connected')).toBe(false);
    expect(canTransition('idle', 'stop')).toBe(false);
  });

  it('reducer ignores invalid events and keeps the same object', () => {
    const m = connectionReducer(initialConnection, { type: 'connected' });
    expect(m).toBe(initialConnection);
    expect(connectionReducer(initialConnection, { type: 'start' }).state).toBe('connecting');
  });
});
