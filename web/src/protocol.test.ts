import { describe, expect, it } from 'vitest';
import { encodeClientMessage, formatLatency, parseServerMessage } from './protocol';

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

describe('client messages and formatting', () => {
  it('encodes bye', () => {
    expect(JSON.parse(encodeClientMessage({ type: 'bye' }))).toEqual({ type: 'bye' });
  });
  it('formats latency as "stt X ms · total Y ms"', () => {
    expect(formatLatency({ endpoint: 600, stt: 412.4, total: 1033.6 })).toBe('stt 412 ms · total 1034 ms');
  });
});
