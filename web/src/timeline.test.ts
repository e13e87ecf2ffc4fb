import { describe, expect, it } from 'vitest';
import { createTimeline, formatClock, timelineReducer, type TimelineState } from './timeline';
import type { TranscriptEvent } from './protocol';

const ev = (id: string, start: number, extra: Partial<TranscriptEvent> = {}): TranscriptEvent => ({
  type: 'transcript',
  id,
  text: `text ${id}`,
  start,
  end: start + 1,
  final: true,
  latency_ms: { endpoint: 600, stt: 300, total: 950 },
  ...extra,
});

const add = (s: TimelineState, e: TranscriptEvent, at = 1000) =>
  timelineReducer(s, { type: 'add', event: e, receivedAt: at });

describe('timelineReducer', () => {
  it('appends final transcripts in order with their receive time', () => {
    let s = createTimeline();
    s = add(s, ev('a', 0), 111);
    s = add(s, ev('b', 2), 222);
    expect(s.entries.map((e) => e.id)).toEqual(['a', 'b']);
    expect(s.entries[1]).toMatchObject({ text: 'text b', receivedAt: 222, latency: { stt: 300, total: 950 } });
  });

  it('deduplicates by id (first one wins, state unchanged)', () => {
    let s = createTimeline();
    s = add(s, ev('a', 0));
    const again = add(s, ev('a', 0, { text: 'changed' }));
    expect(again).toBe(s);
    expect(again.entries).toHaveLength(1);
    expect(again.entries[0].text).toBe('text a');
  });

  it('ignores non-final transcripts', () => {
    const s = createTimeline();
    expect(add(s, ev('p', 0, { final: false }))).toBe(s);
  });

  it('places a late utterance by its start time, stably', () => {
    let s = createTimeline();
    s = add(s, ev('a', 0));
    s = add(s, ev('c', 5));
    s = add(s, ev('b', 2));
    s = add(s, ev('b2', 2));
    expect(s.entries.map((e) => e.id)).toEqual(['a', 'b', 'b2', 'c']);
  });

  it('keeps at most N entries, dropping the oldest', () => {
    let s = createTimeline(3);
    for (let i = 0; i < 5; i++) s = add(s, ev(`u${i}`, i));
    expect(s.entries.map((e) => e.id)).toEqual(['u2', 'u3', 'u4']);
  });

  it('does not mutate the previous state', () => {
    const s0 = createTimeline();
    const s1 = add(s0, ev('a', 0));
    expect(s0.entries).toHaveLength(0);
    expect(s1.entries).toHaveLength(1);
  });

  it('clears', () => {
    const s = add(createTimeline(), ev('a', 0));
    expect(timelineReducer(s, { type: 'clear' }).entries).toEqual([]);
  });

  it('rejects a bad limit', () => {
    expect(() => createTimeline(0)).toThrow(RangeError);
  });

  it('formats the wall-clock time as HH:MM:SS', () => {
    const t = new Date(2026, 10, 25, 9, 5, 7).getTime();
    expect(formatClock(t)).toBe('09:05:07');
  });
});
