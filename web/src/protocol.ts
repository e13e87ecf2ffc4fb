// The DataChannel ("transcript") event protocol between voicedesk and the
// browser. Server messages are JSON objects with a "type"; anything that does
// not match the schema is rejected with a readable error, never thrown.

export interface LatencyMs {
  endpoint: number;
  stt: number;
  total: number;
}

export interface TranscriptEvent {
  type: 'transcript';
  id: string;
  text: string;
  /** Utterance start / end, seconds on the session's audio clock. */
  start: number;
  end: number;
  final: boolean;
  latency_ms: LatencyMs;
}

export interface VadEvent {
  type: 'vad';
  speaking: boolean;
}

export interface StatusEvent {
  type: 'status';
  state: string;
}

export interface ErrorEvent {
  type: 'error';
  message: string;
}

export type ServerEvent = TranscriptEvent | VadEvent | StatusEvent | ErrorEvent;

export type ParseResult =
  | { ok: true; event: ServerEvent }
  | { ok: false; error: string };

export interface ByeMessage {
  type: 'bye';
}
export type ClientMessage = ByeMessage;

/** Longest message accepted (a transcript of a 30 s utterance is far smaller). */
export const MAX_MESSAGE_CHARS = 64 * 1024;

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v);

const fail = (error: string): ParseResult => ({ ok: false, error });

function parseLatency(v: unknown): LatencyMs | string {
  if (!isObject(v)) return 'transcript.latency_ms must be an object';
  const out: Partial<LatencyMs> = {};
  for (const key of ['endpoint', 'stt', 'total'] as const) {
    const n = v[key];
    if (!isFiniteNumber(n) || n < 0) return `transcript.latency_ms.${key} must be a non-negative number`;
    out[key] = n;
  }
  return out as LatencyMs;
}

function parseTranscript(o: Obj): ParseResult {
  const { text, start, end } = o;
  // The server numbers utterances per session; ids are kept as strings.
  const id = Number.isSafeInteger(o.id) ? String(o.id) : o.id;
  if (typeof id !== 'string' || id.length === 0) {
    return fail('transcript.id must be a non-empty string or an integer');
  }
  if (typeof text !== 'string') return fail('transcript.text must be a string');
  if (!isFiniteNumber(start)) return fail('transcript.start must be a number');
  if (!isFiniteNumber(end)) return fail('transcript.end must be a number');
  if (end < start) return fail('transcript.end must not precede start');
  const final = o.final === undefined ? true : o.final;
  if (typeof final !== 'boolean') return fail('transcript.final must be a boolean');
  const latency = parseLatency(o.latency_ms);
  if (typeof latency === 'string') return fail(latency);
  return {
    ok: true,
    event: { type: 'transcript', id, text, start, end, final, latency_ms: latency },
  };
}

/** Parses one DataChannel message. Accepts a string (or an already-decoded value). */
export function parseServerMessage(raw: unknown): ParseResult {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    if (raw.length > MAX_MESSAGE_CHARS) return fail(`message too long (${raw.length} characters)`);
    try {
      value = JSON.parse(raw);
    } catch {
      return fail('message is not valid JSON');
    }
  } else if (raw instanceof ArrayBuffer || ArrayBuffer.isView(raw)) {
    return fail('binary messages are not supported');
  }
  if (!isObject(value)) return fail('message must be a JSON object');
  const type = value.type;
  if (typeof type !== 'string') return fail('message has no "type"');
  switch (type) {
    case 'transcript':
      return parseTranscript(value);
    case 'vad':
      if (typeof value.speaking !== 'boolean') return fail('vad.speaking must be a boolean');
      return { ok: true, event: { type: 'vad', speaking: value.speaking } };
    case 'status':
      if (typeof value.state !== 'string' || value.state.length === 0)
        return fail('status.state must be a non-empty string');
      return { ok: true, event: { type: 'status', state: value.state } };
    case 'error':
      if (typeof value.message !== 'string') return fail('error.message must be a string');
      return { ok: true, event: { type: 'error', message: value.message || 'unknown server error' } };
    default:
      return fail(`unknown message type "${type.slice(0, 40)}"`);
  }
}

export function encodeClientMessage(message: ClientMessage): string {
  return JSON.stringify(message);
}

/** "stt 412 ms · total 1034 ms" */
export function formatLatency(latency: LatencyMs): string {
  return `stt ${Math.round(latency.stt)} ms · total ${Math.round(latency.total)} ms`;
}
