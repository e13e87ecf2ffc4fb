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

export type ToolCallStatus = 'proposed' | 'declined' | 'done' | 'failed';
export const TOOL_CALL_STATUSES: readonly ToolCallStatus[] = ['proposed', 'declined', 'done', 'failed'];

/** One tool call the agent made or proposes (shown as a card). */
export interface AgentToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** null until it ran. */
  result: unknown;
  is_error: boolean;
  status: ToolCallStatus;
}

export type AgentSource = 'intent_parser' | 'llm';

/**
 * The agent's reply. Non-final events carry the whole text so far (each
 * replaces the previous); the final one completes the reply.
 */
export interface AgentEvent {
  type: 'agent';
  text: string;
  tool_calls: AgentToolCall[];
  final: boolean;
  /** The reply asks the user to confirm an action (yes / no). */
  awaiting_confirmation: boolean;
  source: AgentSource;
}

/** A spoken reply started (its first audio went out) or ended / was stopped. */
export interface SpeechEvent {
  type: 'speech';
  state: 'started' | 'ended';
  /** started: from the server's speak() to the first audio sent, ms. */
  since_speak_ms?: number;
  /** started: the server's wall clock when it sent the event (ms since the epoch). */
  sent_at_ms?: number;
}

export type ServerEvent = TranscriptEvent | VadEvent | StatusEvent | ErrorEvent | AgentEvent | SpeechEvent;

export type ParseResult =
  | { ok: true; event: ServerEvent }
  | { ok: false; error: string };

export interface ByeMessage {
  type: 'bye';
}
/** A line the user typed instead of speaking. */
export interface UserTextMessage {
  type: 'user_text';
  text: string;
}
/** The user's answer to a reply awaiting confirmation. */
export interface ConfirmMessage {
  type: 'confirm';
  answer: 'yes' | 'no';
}
export type ClientMessage = ByeMessage | UserTextMessage | ConfirmMessage;

export type EncodeResult = { ok: true; data: string } | { ok: false; error: string };

/** Longest message accepted (a transcript of a 30 s utterance is far smaller). */
export const MAX_MESSAGE_CHARS = 64 * 1024;
/** Most tool calls one agent event may carry (the server runs a few per reply). */
export const MAX_TOOL_CALLS = 20;
/** Longest typed line sent, after trimming. */
export const MAX_USER_TEXT_CHARS = 2000;

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

function parseToolCall(v: unknown, index: number): AgentToolCall | string {
  const at = `agent.tool_calls[${index}]`;
  if (!isObject(v)) return `${at} must be an object`;
  if (typeof v.name !== 'string' || v.name.length === 0) return `${at}.name must be a non-empty string`;
  if (!isObject(v.arguments)) return `${at}.arguments must be an object`;
  if (!('result' in v)) return `${at}.result is missing (null until the call ran)`;
  if (typeof v.is_error !== 'boolean') return `${at}.is_error must be a boolean`;
  const status = v.status;
  if (typeof status !== 'string' || !(TOOL_CALL_STATUSES as readonly string[]).includes(status))
    return `${at}.status must be one of ${TOOL_CALL_STATUSES.join(', ')}`;
  return {
    name: v.name,
    arguments: v.arguments,
    result: v.result ?? null,
    is_error: v.is_error,
    status: status as ToolCallStatus,
  };
}

function parseAgent(o: Obj): ParseResult {
  if (typeof o.text !== 'string') return fail('agent.text must be a string');
  if (!Array.isArray(o.tool_calls)) return fail('agent.tool_calls must be an array');
  if (o.tool_calls.length > MAX_TOOL_CALLS)
    return fail(`agent.tool_calls has ${o.tool_calls.length} entries (at most ${MAX_TOOL_CALLS})`);
  const toolCalls: AgentToolCall[] = [];
  for (const [index, raw] of o.tool_calls.entries()) {
    const call = parseToolCall(raw, index);
    if (typeof call === 'string') return fail(call);
    toolCalls.push(call);
  }
  if (typeof o.final !== 'boolean') return fail('agent.final must be a boolean');
  if (typeof o.awaiting_confirmation !== 'boolean') return fail('agent.awaiting_confirmation must be a boolean');
  if (o.source !== 'intent_parser' && o.source !== 'llm') return fail('agent.source must be "intent_parser" or "llm"');
  return {
    ok: true,
    event: {
      type: 'agent',
      text: o.text,
      tool_calls: toolCalls,
      final: o.final,
      awaiting_confirmation: o.awaiting_confirmation,
      source: o.source,
    },
  };
}

function parseSpeech(o: Obj): ParseResult {
  if (o.state !== 'started' && o.state !== 'ended') return fail('speech.state must be "started" or "ended"');
  const event: SpeechEvent = { type: 'speech', state: o.state };
  for (const key of ['since_speak_ms', 'sent_at_ms'] as const) {
    if (o[key] === undefined) continue;
    const n = o[key];
    if (!isFiniteNumber(n) || n < 0) return fail(`speech.${key} must be a non-negative number`);
    event[key] = n;
  }
  return { ok: true, event };
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
    case 'agent':
      return parseAgent(value);
    case 'speech':
      return parseSpeech(value);
    case 'error':
      if (typeof value.message !== 'string') return fail('error.message must be a string');
      return { ok: true, event: { type: 'error', message: value.message || 'unknown server error' } };
    default:
      return fail(`unknown message type "${type.slice(0, 40)}"`);
  }
}

/**
 * Validates and serializes a message for the server (never throws). Typed
 * text is trimmed; empty or overlong text is refused with a readable error.
 */
export function encodeClientMessage(message: ClientMessage): EncodeResult {
  switch (message.type) {
    case 'bye':
      return { ok: true, data: JSON.stringify({ type: 'bye' }) };
    case 'user_text': {
      if (typeof message.text !== 'string') return { ok: false, error: 'the message must be text' };
      const text = message.text.trim();
      if (text.length === 0) return { ok: false, error: 'the message is empty' };
      if (text.length > MAX_USER_TEXT_CHARS)
        return {
          ok: false,
          error: `the message is too long (${text.length} characters, at most ${MAX_USER_TEXT_CHARS})`,
        };
      return { ok: true, data: JSON.stringify({ type: 'user_text', text }) };
    }
    case 'confirm':
      if (message.answer !== 'yes' && message.answer !== 'no')
        return { ok: false, error: 'the answer must be "yes" or "no"' };
      return { ok: true, data: JSON.stringify({ type: 'confirm', answer: message.answer }) };
    default:
      return {
        ok: false,
        error: `unknown client message type "${String((message as { type?: unknown }).type).slice(0, 40)}"`,
      };
  }
}

/** "stt 412 ms · total 1034 ms" */
export function formatLatency(latency: LatencyMs): string {
  return `stt ${Math.round(latency.stt)} ms · total ${Math.round(latency.total)} ms`;
}
