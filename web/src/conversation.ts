// The conversation: the user's turns (final transcripts, typed lines, Yes/No
// answers) and the agent's replies with their tool calls, in arrival order,
// bounded to the newest `limit` turns. A reply streams: each non-final agent
// event replaces the text of the reply in progress until the final one.
import type { AgentEvent, AgentSource, AgentToolCall, LatencyMs, TranscriptEvent } from './protocol';

export type UserVia = 'voice' | 'typed' | 'button';

export interface UserTurn {
  role: 'user';
  /** Unique within the conversation (a counter; React key). */
  key: number;
  text: string;
  via: UserVia;
  /** Wall-clock time (ms since the epoch) the client received or sent it. */
  at: number;
  /** Spoken turns: the server's utterance id and latency. */
  utteranceId?: string;
  latency?: LatencyMs;
}

export interface AssistantTurn {
  role: 'assistant';
  key: number;
  text: string;
  toolCalls: AgentToolCall[];
  /** false while the reply streams. */
  final: boolean;
  awaitingConfirmation: boolean;
  source: AgentSource;
  at: number;
}

export type Turn = UserTurn | AssistantTurn;

export interface ConversationState {
  turns: Turn[];
  limit: number;
  nextKey: number;
  /** Key of the final reply that waits for the user's yes / no; null when none. */
  pendingConfirmation: number | null;
  /** Utterance ids seen in the current voice session (the server numbers them per session). */
  seenUtterances: string[];
}

export type ConversationAction =
  | { type: 'transcript'; event: TranscriptEvent; at: number }
  | { type: 'typed'; text: string; at: number }
  | { type: 'agent'; event: AgentEvent; at: number }
  | { type: 'answered'; answer: 'yes' | 'no'; at: number }
  /** A new voice session starts: its utterance ids start over. */
  | { type: 'session' }
  | { type: 'clear' };

export const DEFAULT_CONVERSATION_LIMIT = 200;
/** Utterance ids remembered for de-duplication (a session's recent ones suffice). */
const SEEN_UTTERANCES_LIMIT = 64;

export function createConversation(limit = DEFAULT_CONVERSATION_LIMIT): ConversationState {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('conversation limit must be a positive integer');
  return { turns: [], limit, nextKey: 1, pendingConfirmation: null, seenUtterances: [] };
}

/** Appends a turn, drops the oldest beyond the limit; any new turn ends a pending confirmation. */
function append(state: ConversationState, turn: Turn, pendingConfirmation: number | null = null): ConversationState {
  const turns = [...state.turns, turn];
  if (turns.length > state.limit) turns.splice(0, turns.length - state.limit);
  return { ...state, turns, nextKey: state.nextKey + 1, pendingConfirmation };
}

function assistantTurn(key: number, event: AgentEvent, at: number): AssistantTurn {
  return {
    role: 'assistant',
    key,
    text: event.text,
    toolCalls: event.tool_calls,
    final: event.final,
    awaitingConfirmation: event.awaiting_confirmation,
    source: event.source,
    at,
  };
}

function onAgent(state: ConversationState, event: AgentEvent, at: number): ConversationState {
  const last = state.turns.at(-1);
  const streaming = last?.role === 'assistant' && !last.final ? last : null;
  const key = streaming ? streaming.key : state.nextKey;
  const turn = assistantTurn(key, event, streaming ? streaming.at : at);
  const pending = event.final && event.awaiting_confirmation ? key : null;
  if (!streaming) return append(state, turn, pending);
  return { ...state, turns: [...state.turns.slice(0, -1), turn], pendingConfirmation: pending };
}

export function conversationReducer(state: ConversationState, action: ConversationAction): ConversationState {
  switch (action.type) {
    case 'clear':
      return state.turns.length ? { ...state, turns: [], pendingConfirmation: null } : state;
    case 'session':
      return state.seenUtterances.length ? { ...state, seenUtterances: [] } : state;
    case 'transcript': {
      const { event, at } = action;
      if (!event.final || event.text.trim() === '' || state.seenUtterances.includes(event.id)) return state;
      const seenUtterances = [...state.seenUtterances, event.id].slice(-SEEN_UTTERANCES_LIMIT);
      return append(
        { ...state, seenUtterances },
        {
          role: 'user',
          key: state.nextKey,
          text: event.text,
          via: 'voice',
          at,
          utteranceId: event.id,
          latency: event.latency_ms,
        },
      );
    }
    case 'typed':
      return append(state, { role: 'user', key: state.nextKey, text: action.text, via: 'typed', at: action.at });
    case 'answered':
      return append(state, {
        role: 'user',
        key: state.nextKey,
        text: action.answer === 'yes' ? 'Yes' : 'No',
        via: 'button',
        at: action.at,
      });
    case 'agent':
      return onAgent(state, action.event, action.at);
  }
}

/** The reply waiting for a yes / no, if any. */
export function pendingReply(state: ConversationState): AssistantTurn | null {
  if (state.pendingConfirmation === null) return null;
  const turn = state.turns.find((t) => t.key === state.pendingConfirmation);
  return turn?.role === 'assistant' ? turn : null;
}

export interface ConversationExport {
  format: 'voicedesk-conversation';
  version: 1;
  exported_at: string;
  turns: Array<
    | { role: 'user'; text: string; via: UserVia; at: string; utterance_id?: string; latency_ms?: LatencyMs }
    | {
        role: 'assistant';
        text: string;
        tool_calls: AgentToolCall[];
        final: boolean;
        awaiting_confirmation: boolean;
        source: AgentSource;
        at: string;
      }
  >;
}

/** The whole conversation as a plain JSON document (timestamps in ISO 8601). */
export function exportConversation(state: ConversationState, now: number): ConversationExport {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    format: 'voicedesk-conversation',
    version: 1,
    exported_at: iso(now),
    turns: state.turns.map((t) =>
      t.role === 'user'
        ? {
            role: 'user',
            text: t.text,
            via: t.via,
            at: iso(t.at),
            ...(t.utteranceId !== undefined ? { utterance_id: t.utteranceId } : {}),
            ...(t.latency ? { latency_ms: t.latency } : {}),
          }
        : {
            role: 'assistant',
            text: t.text,
            tool_calls: t.toolCalls,
            final: t.final,
            awaiting_confirmation: t.awaitingConfirmation,
            source: t.source,
            at: iso(t.at),
          },
    ),
  };
}

/** "voicedesk-conversation-2026-11-25.json" (the local date). */
export function exportFileName(now: number): string {
  const d = new Date(now);
  const p = (n: number) => String(n).padStart(2, '0');
  return `voicedesk-conversation-${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}.json`;
}

/** What `downloadConversation` needs from the browser (injected in tests). */
export interface DownloadEnv {
  createObjectURL(blob: Blob): string;
  revokeObjectURL(url: string): void;
  /** Clicks a temporary <a download> for the URL. */
  click(url: string, fileName: string): void;
}

export const browserDownloadEnv = (): DownloadEnv => ({
  createObjectURL: (blob) => URL.createObjectURL(blob),
  revokeObjectURL: (url) => URL.revokeObjectURL(url),
  click: (url, fileName) => {
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    a.rel = 'noopener';
    document.body.append(a);
    a.click();
    a.remove();
  },
});

/** Saves the conversation as voicedesk-conversation-<date>.json through a Blob URL. Returns the file name. */
export function downloadConversation(
  state: ConversationState,
  now: number,
  env: DownloadEnv = browserDownloadEnv(),
): string {
  const fileName = exportFileName(now);
  const blob = new Blob([JSON.stringify(exportConversation(state, now), null, 2)], { type: 'application/json' });
  const url = env.createObjectURL(blob);
  try {
    env.click(url, fileName);
  } finally {
    // Revoked after the click has started the download.
    setTimeout(() => env.revokeObjectURL(url), 0);
  }
  return fileName;
}

/** "14:03:27" in the user's locale-independent 24-hour form. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A one-line summary of a tool result for its card (the full value is in the export). */
export function summarizeResult(result: unknown, maxChars = 160): string {
  if (result === null || result === undefined) return '';
  let text: string;
  if (typeof result === 'string') text = result;
  else if (Array.isArray(result)) text = `${result.length} item${result.length === 1 ? '' : 's'}`;
  else if (typeof result === 'object') {
    const o = result as Record<string, unknown>;
    const preferred = ['summary', 'message', 'text', 'error'].find((k) => typeof o[k] === 'string');
    text = preferred ? (o[preferred] as string) : JSON.stringify(result);
  } else text = String(result);
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}
