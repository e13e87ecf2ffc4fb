import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { App } from './App';
import { Controls } from './components/Controls';
import { LevelMeter } from './components/LevelMeter';
import { Timeline } from './components/Timeline';
import type { TimelineEntry } from './timeline';

const noop = () => {};

describe('components (server-rendered markup)', () => {
  it('App starts idle with the test hooks in place', () => {
    const html = renderToStaticMarkup(<App />);
    expect(html).toMatch(/data-testid="start"/);
    expect(html).toMatch(/data-testid="stop"[^>]*disabled/);
    expect(html).toMatch(/<span data-testid="status">idle<\/span>/);
    expect(html).toMatch(/data-testid="level" data-level="0.000"/);
    expect(html).toMatch(/aria-live="polite"/);
    expect(html).not.toMatch(/role="alert"/);
  });

  it('status text is exactly the state name', () => {
    for (const state of ['idle', 'connecting', 'connected', 'error'] as const) {
      const html = renderToStaticMarkup(
        <Controls state={state} serverState={null} speaking={false} onStart={noop} onStop={noop} />,
      );
      expect(html).toContain(`<span data-testid="status">${state}</span>`);
    }
  });

  it('level meter exposes the level', () => {
    const html = renderToStaticMarkup(<LevelMeter level={0.4567} active />);
    expect(html).toMatch(/role="meter"/);
    expect(html).toMatch(/aria-valuenow="46"/);
    expect(html).toMatch(/data-level="0.457"/);
  });

  it('each transcript element holds exactly its text; time and latency are siblings', () => {
    const entries: TimelineEntry[] = [
      { id: 'a', text: 'hello <world>', start: 0, end: 1, latency: { endpoint: 600, stt: 210, total: 870 }, receivedAt: 0 },
      { id: 'b', text: 'second', start: 2, end: 3, latency: { endpoint: 600, stt: 190, total: 840 }, receivedAt: 0 },
    ];
    const html = renderToStaticMarkup(<Timeline entries={entries} onClear={noop} />);
    const texts = [...html.matchAll(/data-testid="transcript">([^<]*)</g)].map((m) => m[1]);
    expect(texts).toEqual(['hello &lt;world&gt;', 'second']);
    expect(html).toContain('stt 210 ms · total 870 ms');
  });
});
