// The transcript timeline: final transcripts in utterance order, deduplicated
// by id, bounded to the newest `limit` entries.
import type { TranscriptEvent } from './protocol';

export interface TimelineEntry {
  id: string;
  text: string;
  start: number;
  end: number;
  latency: TranscriptEvent['latency_ms'];
  /** Wall-clock time (ms since the epoch) the client received it. */
  receivedAt: number;
}

export interface TimelineState {
  entries: TimelineEntry[];
  limit: number;
}

export type TimelineAction =
  | { type: 'add'; event: TranscriptEvent; receivedAt: number }
  | { type: 'clear' };

export const DEFAULT_TIMELINE_LIMIT = 200;

export function createTimeline(limit = DEFAULT_TIMELINE_LIMIT): TimelineState {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('timeline limit must be a positive integer');
  return { entries: [], limit };
}

export function timelineReducer(state: TimelineState, action: TimelineAction): TimelineState {
  switch (action.type) {
    case 'clear':
      return state.entries.length ? { ...state, entries: [] } : state;
    case 'add': {
      const { event, receivedAt } = action;
      if (!event.final) return state;
      if (state.entries.some((e) => e.id === event.id)) return state;
      const entry: TimelineEntry = {
        id: event.id,
        text: event.text,
        start: event.start,
        end: event.end,
        latency: event.latency_ms,
        receivedAt,
      };
      // Usually appended; an utterance that arrives late is placed by its
      // start time (after entries that start at the same time: stable).
      let at = state.entries.length;
      while (at > 0 && state.entries[at - 1].start > entry.start) at--;
      const entries = [...state.entries.slice(0, at), entry, ...state.entries.slice(at)];
      if (entries.length > state.limit) entries.splice(0, entries.length - state.limit);
      return { ...state, entries };
    }
  }
}

/** "14:03:27" in the user's locale-independent 24-hour form. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
