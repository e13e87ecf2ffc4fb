import { describe, expect, it } from 'vitest';
import { renderToStaticMarkup } from 'react-dom/server';
import { App } from './App';
import { Controls } from './components/Controls';
import { LevelMeter } from './components/LevelMeter';
import { Conversation, type ConversationProps } from './components/Conversation';
import { ToolCallCard } from './components/ToolCallCard';
import type { AssistantTurn, Turn } from './conversation';

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

  it('App shows the conversation with typing disabled until connected', () => {
    const html = renderToStaticMarkup(<App />);
    expect(html).toMatch(/data-testid="conversation"/);
    expect(html).toMatch(/<input[^>]*aria-label="Message"[^>]*disabled/);
    expect(html).toMatch(/<button type="submit"[^>]*data-testid="send"[^>]*disabled[^>]*>Send<\/button>/);
    expect(html).toMatch(/data-testid="download"[^>]*disabled/);
    expect(html).toMatch(/<audio[^>]*autoplay/i);
    expect(html).not.toMatch(/data-testid="confirmation"/);
  });

  const latency = { endpoint: 600, stt: 210, total: 870 };
  const asking: AssistantTurn = {
    role: 'assistant',
    key: 3,
    text: 'Send "Lunch" to ana@example.org?',
    toolCalls: [
      {
        name: 'send_email',
        arguments: { to: 'ana@example.org', cc: ['bo@example.org'] },
        result: null,
        is_error: false,
        status: 'proposed',
      },
    ],
    final: true,
    awaitingConfirmation: true,
    source: 'intent_parser',
    at: 0,
  };
  const turns: Turn[] = [
    { role: 'user', key: 1, text: 'hello <world>', via: 'voice', at: 0, utteranceId: '1', latency },
    { role: 'user', key: 2, text: 'typed line', via: 'typed', at: 0 },
    asking,
    {
      role: 'assistant',
      key: 4,
      text: 'Streaming so',
      toolCalls: [],
      final: false,
      awaitingConfirmation: false,
      source: 'llm',
      at: 0,
    },
  ];
  const props = (patch: Partial<ConversationProps> = {}): ConversationProps => ({
    turns,
    pending: null,
    connected: true,
    onSend: () => true,
    onConfirm: noop,
    onDownload: noop,
    onClear: noop,
    ...patch,
  });

  it('spoken turns keep the transcript hooks: exactly the text, with the latency beside it', () => {
    const html = renderToStaticMarkup(<Conversation {...props()} />);
    const texts = [...html.matchAll(/data-testid="transcript">([^<]*)</g)].map((m) => m[1]);
    expect(texts).toEqual(['hello &lt;world&gt;']);
    expect(html).toContain('stt 210 ms · total 870 ms');
    expect(html).toMatch(/data-testid="user-text">typed line</);
  });

  it('assistant replies are data-role="assistant" with their text, streaming state and tool cards', () => {
    const html = renderToStaticMarkup(<Conversation {...props()} />);
    expect(html.match(/data-role="assistant"/g)).toHaveLength(2);
    expect(html.match(/data-role="user"/g)).toHaveLength(2);
    const texts = [...html.matchAll(/data-testid="assistant-text">([^<]*)</g)].map((m) => m[1]);
    expect(texts).toEqual(['Send &quot;Lunch&quot; to ana@example.org?', 'Streaming so']);
    expect(html).toMatch(/data-role="assistant" data-final="true" data-awaiting-confirmation="true"/);
    expect(html).toMatch(/data-role="assistant" data-final="false"[^>]*aria-busy="true"/);
    expect(html).toMatch(/data-testid="tool-call" data-tool-name="send_email" data-status="proposed"/);
  });

  it('shows Yes / No only while a reply awaits confirmation, disabled when not connected', () => {
    expect(renderToStaticMarkup(<Conversation {...props()} />)).not.toMatch(/>Yes</);
    const html = renderToStaticMarkup(<Conversation {...props({ pending: asking })} />);
    expect(html).toMatch(/role="group" aria-labelledby="confirm-label" data-testid="confirmation"/);
    expect(html).toMatch(/data-testid="confirm-yes"[^>]*>Yes<\/button>/);
    expect(html).toMatch(/data-testid="confirm-no"[^>]*>No<\/button>/);
    const offline = renderToStaticMarkup(<Conversation {...props({ pending: asking, connected: false })} />);
    expect(offline).toMatch(/data-testid="confirm-yes" disabled/);
    expect(offline).toMatch(/aria-label="Message"[^>]*disabled/);
  });

  it('the input box is enabled when connected and limits the length', () => {
    const html = renderToStaticMarkup(<Conversation {...props()} />);
    expect(html).toMatch(/<form class="message-form" aria-label="Type a message">/);
    const input = html.match(/<input[^>]*aria-label="Message"[^>]*>/)?.[0] ?? '';
    expect(input).toMatch(/maxLength="2000"/);
    expect(input).not.toMatch(/disabled/);
    expect(html).toMatch(/data-testid="download"[^>]*>Download</);
    expect(html).not.toMatch(/data-testid="download"[^>]*disabled/);
  });

  it('tool cards show arguments, status and the result summary or the error', () => {
    const done = renderToStaticMarkup(
      <ToolCallCard
        call={{
          name: 'list_events',
          arguments: { day: 'today' },
          result: { summary: 'Two events' },
          is_error: false,
          status: 'done',
        }}
      />,
    );
    expect(done).toMatch(/<dt>day<\/dt><dd>today<\/dd>/);
    expect(done).toMatch(/data-testid="tool-status">Done</);
    expect(done).toMatch(/data-testid="tool-result">Two events</);
    const failed = renderToStaticMarkup(
      <ToolCallCard
        call={{ name: 'send_email', arguments: {}, result: 'SMTP refused the login', is_error: true, status: 'failed' }}
      />,
    );
    expect(failed).toMatch(/aria-label="Tool send_email: Failed"/);
    expect(failed).toMatch(/data-testid="tool-error">SMTP refused the login</);
    expect(failed).not.toMatch(/tool-result/);
  });
});
