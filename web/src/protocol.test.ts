import { describe, expect, it } from 'vitest';
import {
  encodeClientMessage,
  formatLatency,
  MAX_TOOL_CALLS,
  MAX_USER_TEXT_CHARS,
  parseServerMessage,
  type ClientMessage,
} from './protocol';

const transcript = {
  type: 'transcript',
  id: 'u1',
  text: 'book a meeting tomorrow',
  start: 1.2,
  end: 2.9,
  final: true,
  latency_ms: { endpoint: 600, stt: 412.4, total: 1033.6 },
};

describe('parseServerMessage', () => {
  it('parses a final transcript', () => {
    const r = parseServerMessage(JSON.stringify(transcript));
    expect(r).toEqual({ ok: true, event: transcript });
  });

  it('parses spoken-reply events and rejects bad ones', () => {
    expect(parseServerMessage('{"type":"speech","state":"started","since_speak_ms":72.5,"sent_at_ms":1700000000000}')).toEqual({
      ok: true,
      event: { type: 'speech', state: 'started', since_speak_ms: 72.5, sent_at_ms: 1700000000000 },
    });
    expect(parseServerMessage('{"type":"speech","state":"ended"}')).toEqual({
      ok: true,
      event: { type: 'speech', state: 'ended' },
    });
    expect(parseServerMessage('{"type":"speech","state":"paused"}')).toEqual({
      ok: false,
      error: 'speech.state must be "started" or "ended"',
    });
    expect(parseServerMessage('{"type":"speech","state":"started","since_speak_ms":-1}')).toEqual({
      ok: false,
      error: 'speech.since_speak_ms must be a non-negative number',
    });
  });

  it('parses vad, status and error events', () => {
    expect(parseServerMessage('{"type":"vad","speaking":true}')).toEqual({
      ok: true,
      event: { type: 'vad', speaking: true },
    });
    expect(parseServerMessage('{"type":"status","state":"listening"}')).toEqual({
      ok: true,
      event: { type: 'status', state: 'listening' },
    });
    expect(parseServerMessage('{"type":"error","message":"model missing"}')).toEqual({
      ok: true,
      event: { type: 'error', message: 'model missing' },
    });
  });

  it('ignores unknown extra fields', () => {
    const r = parseServerMessage(JSON.stringify({ ...transcript, language: 'en', extra: [1] }));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.event).not.toHaveProperty('extra');
  });

  it.each([
    ['not JSON', '{"type":', /not valid JSON/],
    ['an array', '[1,2]', /JSON object/],
    ['null', 'null', /JSON object/],
    ['no type', '{"text":"x"}', /no "type"/],
    ['an unknown type', '{"type":"telemetry"}', /unknown message type/],
    ['vad without a boolean', '{"type":"vad","speaking":"yes"}', /vad.speaking/],
    ['status without state', '{"type":"status"}', /status.state/],
    ['error without message', '{"type":"error","message":3}', /error.message/],
  ])('rejects %s', (_name, raw, pattern) => {
    const r = parseServerMessage(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(pattern);
  });

  it('accepts the integer ids the server numbers utterances with', () => {
    const r = parseServerMessage(JSON.stringify({ ...transcript, id: 7 }));
    expect(r.ok).toBe(true);
    if (r.ok && r.event.type === 'transcript') expect(r.event.id).toBe('7');
  });

  it('rejects transcripts with missing or wrong fields', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ id: '' }, /transcript.id/],
      [{ id: 7.5 }, /transcript.id/],
      [{ text: null }, /transcript.text/],
      [{ start: '1' }, /transcript.start/],
      [{ end: Number.NaN }, /transcript.end/],
      [{ start: 3, end: 2 }, /precede/],
      [{ final: 'yes' }, /final/],
      [{ latency_ms: undefined }, /latency_ms/],
      [{ latency_ms: { endpoint: 1, stt: -5, total: 3 } }, /latency_ms.stt/],
      [{ latency_ms: { endpoint: 1, stt: 2 } }, /latency_ms.total/],
    ];
    for (const [patch, pattern] of bad) {
      const r = parseServerMessage(JSON.stringify({ ...transcript, ...patch }));
      expect(r.ok, JSON.stringify(patch)).toBe(false);
      if (!r.ok) expect(r.error).toMatch(pattern);
    }
  });

  it('rejects binary and oversized messages without throwing', () => {
    expect(parseServerMessage(new ArrayBuffer(4)).ok).toBe(false);
    expect(parseServerMessage(new Uint8Array(4)).ok).toBe(false);
    const huge = JSON.stringify({ ...transcript, text: 'a'.repeat(100_000) });
    const r = parseServerMessage(huge);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/too long/);
  });

  it('treats a transcript without "final" as final', () => {
    const { final: _f, ...rest } = transcript;
    const r = parseServerMessage(JSON.stringify(rest));
    expect(r.ok && r.event.type === 'transcript' && r.event.final).toBe(true);
  });
});

const toolCall = {
  name: 'send_email',
  arguments: { to: 'ana@example.org', subject: 'Lunch', body: 'At noon?' },
  result: null,
  is_error: false,
  status: 'proposed',
};
const agent = {
  type: 'agent',
  text: 'Send "Lunch" to ana@example.org?',
  tool_calls: [toolCall],
  final: true,
  awaiting_confirmation: true,
  source: 'intent_parser',
};

describe('agent events', () => {
  it('parses a final reply with a tool call awaiting confirmation', () => {
    expect(parseServerMessage(JSON.stringify(agent))).toEqual({ ok: true, event: agent });
  });

  it('parses a streamed piece from the model and any result value', () => {
    const streamed = {
      ...agent,
      text: 'You have',
      tool_calls: [],
      final: false,
      awaiting_confirmation: false,
      source: 'llm',
    };
    expect(parseServerMessage(JSON.stringify(streamed))).toEqual({ ok: true, event: streamed });
    for (const result of [{ count: 2, messages: [] }, ['a'], 'sent', 3, true]) {
      const r = parseServerMessage(JSON.stringify({ ...agent, tool_calls: [{ ...toolCall, result, status: 'done' }] }));
      expect(r.ok && r.event.type === 'agent' && r.event.tool_calls[0].result).toEqual(result);
    }
  });

  it('drops unknown extra fields of the event and its tool calls', () => {
    const r = parseServerMessage(JSON.stringify({ ...agent, id: 9, tool_calls: [{ ...toolCall, id: 'call_1' }] }));
    expect(r.ok).toBe(true);
    if (r.ok && r.event.type === 'agent') {
      expect(r.event).not.toHaveProperty('id');
      expect(r.event.tool_calls[0]).not.toHaveProperty('id');
    }
  });

  it('rejects agent events with missing or wrong fields', () => {
    const call = (patch: Record<string, unknown>) => ({ tool_calls: [{ ...toolCall, ...patch }] });
    const { result: _r, ...noResult } = toolCall;
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ text: undefined }, /agent.text must be a string/],
      [{ text: 5 }, /agent.text/],
      [{ tool_calls: undefined }, /agent.tool_calls must be an array/],
      [{ tool_calls: {} }, /agent.tool_calls must be an array/],
      [{ tool_calls: [3] }, /agent.tool_calls\[0\] must be an object/],
      [{ tool_calls: Array(MAX_TOOL_CALLS + 1).fill(toolCall) }, /21 entries \(at most 20\)/],
      [call({ name: '' }), /tool_calls\[0\].name/],
      [call({ arguments: '{"to":"x"}' }), /tool_calls\[0\].arguments must be an object/],
      [call({ arguments: [] }), /arguments must be an object/],
      [{ tool_calls: [noResult] }, /tool_calls\[0\].result is missing/],
      [call({ is_error: 'no' }), /is_error must be a boolean/],
      [call({ status: 'running' }), /status must be one of proposed, declined, done, failed/],
      [{ final: undefined }, /agent.final must be a boolean/],
      [{ awaiting_confirmation: 1 }, /agent.awaiting_confirmation must be a boolean/],
      [{ source: 'gpt' }, /agent.source must be "intent_parser" or "llm"/],
    ];
    for (const [patch, pattern] of bad) {
      const r = parseServerMessage(JSON.stringify({ ...agent, ...patch }));
      expect(r.ok, JSON.stringify(patch)).toBe(false);
      if (!r.ok) expect(r.error).toMatch(pattern);
    }
  });

  it('accepts exactly the maximum number of tool calls, and rejects oversized text', () => {
    const max = parseServerMessage(JSON.stringify({ ...agent, tool_calls: Array(MAX_TOOL_CALLS).fill(toolCall) }));
    expect(max.ok).toBe(true);
    const huge = parseServerMessage(JSON.stringify({ ...agent, text: 'x'.repeat(70_000) }));
    expect(huge.ok).toBe(false);
  });
});

describe('client messages and formatting', () => {
  it('encodes bye', () => {
    expect(encodeClientMessage({ type: 'bye' })).toEqual({ ok: true, data: '{"type":"bye"}' });
  });

  it('encodes typed text trimmed', () => {
    const r = encodeClientMessage({ type: 'user_text', text: '  what is on my calendar today?\n' });
    expect(r.ok && JSON.parse(r.data)).toEqual({ type: 'user_text', text: 'what is on my calendar today?' });
    const longest = encodeClientMessage({ type: 'user_text', text: ` ${'a'.repeat(MAX_USER_TEXT_CHARS)} ` });
    expect(longest.ok).toBe(true);
  });

  it.each([
    ['empty text', { type: 'user_text', text: '' }, /empty/],
    ['blank text', { type: 'user_text', text: ' \n\t ' }, /empty/],
    [
      'overlong text',
      { type: 'user_text', text: 'a'.repeat(MAX_USER_TEXT_CHARS + 1) },
      /too long \(2001 characters, at most 2000\)/,
    ],
    ['non-string text', { type: 'user_text', text: 42 }, /must be text/],
    ['an answer other than yes/no', { type: 'confirm', answer: 'maybe' }, /"yes" or "no"/],
    ['an unknown type', { type: 'ping' }, /unknown client message type "ping"/],
  ])('refuses %s', (_name, message, pattern) => {
    const r = encodeClientMessage(message as unknown as ClientMessage);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(pattern);
  });

  it('encodes yes and no', () => {
    expect(encodeClientMessage({ type: 'confirm', answer: 'yes' })).toEqual({
      ok: true,
      data: '{"type":"confirm","answer":"yes"}',
    });
    expect(encodeClientMessage({ type: 'confirm', answer: 'no' })).toEqual({
      ok: true,
      data: '{"type":"confirm","answer":"no"}',
    });
  });

  it('formats latency as "stt X ms · total Y ms"', () => {
    expect(formatLatency({ endpoint: 600, stt: 412.4, total: 1033.6 })).toBe('stt 412 ms · total 1034 ms');
  });
});
