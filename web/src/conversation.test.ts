import { describe, expect, it, vi } from 'vitest';
import {
  conversationReducer,
  createConversation,
  downloadConversation,
  exportConversation,
  exportFileName,
  pendingReply,
  summarizeResult,
  type ConversationAction,
  type ConversationState,
  type DownloadEnv,
} from './conversation';
import type { AgentEvent, AgentToolCall, TranscriptEvent } from './protocol';

const transcript = (id: string, text: string, final = true): TranscriptEvent => ({
  type: 'transcript',
  id,
  text,
  start: 0,
  end: 1,
  final,
  latency_ms: { endpoint: 600, stt: 200, total: 850 },
});

const proposed: AgentToolCall = {
  name: 'create_event',
  arguments: { title: 'Dentist', start: '2026-11-26T10:00' },
  result: null,
  is_error: false,
  status: 'proposed',
};

const agent = (text: string, patch: Partial<AgentEvent> = {}): AgentEvent => ({
  type: 'agent',
  text,
  tool_calls: [],
  final: true,
  awaiting_confirmation: false,
  source: 'llm',
  ...patch,
});

const run = (actions: ConversationAction[], state: ConversationState = createConversation()) =>
  actions.reduce(conversationReducer, state);

describe('conversation reducer', () => {
  it('adds user turns from final transcripts (once per id) and typed lines', () => {
    const s = run([
      { type: 'transcript', event: transcript('1', 'partial', false), at: 1 },
      { type: 'transcript', event: transcript('1', 'what is on my calendar'), at: 2 },
      { type: 'transcript', event: transcript('1', 'what is on my calendar'), at: 3 },
      { type: 'transcript', event: transcript('2', '   '), at: 4 },
      { type: 'typed', text: 'and tomorrow?', at: 5 },
    ]);
    expect(s.turns).toMatchObject([
      { role: 'user', text: 'what is on my calendar', via: 'voice', utteranceId: '1', latency: { stt: 200 }, at: 2 },
      { role: 'user', text: 'and tomorrow?', via: 'typed', at: 5 },
    ]);
    expect(new Set(s.turns.map((t) => t.key)).size).toBe(2);
  });

  it('accepts repeated utterance ids from a new session', () => {
    const s = run([
      { type: 'transcript', event: transcript('1', 'first session'), at: 1 },
      { type: 'session' },
      { type: 'transcript', event: transcript('1', 'second session'), at: 2 },
    ]);
    expect(s.turns.map((t) => t.text)).toEqual(['first session', 'second session']);
  });

  it('streams a reply into one assistant turn until the final event', () => {
    const s1 = run([
      { type: 'typed', text: 'mail?', at: 1 },
      { type: 'agent', event: agent('You have', { final: false }), at: 2 },
      { type: 'agent', event: agent('You have two new', { final: false }), at: 3 },
    ]);
    expect(s1.turns).toHaveLength(2);
    expect(s1.turns[1]).toMatchObject({ role: 'assistant', text: 'You have two new', final: false, at: 2 });
    const done: AgentToolCall = {
      name: 'list_emails',
      arguments: {},
      result: [{}, {}],
      is_error: false,
      status: 'done',
    };
    const s2 = run([{ type: 'agent', event: agent('You have two new messages.', { tool_calls: [done] }), at: 4 }], s1);
    expect(s2.turns).toHaveLength(2);
    expect(s2.turns[1]).toMatchObject({ text: 'You have two new messages.', final: true, toolCalls: [done], at: 2 });
    expect(s2.turns[1].key).toBe(s1.turns[1].key);
    // The next reply is a new turn.
    const s3 = run([{ type: 'agent', event: agent('Anything else?'), at: 5 }], s2);
    expect(s3.turns.map((t) => t.role)).toEqual(['user', 'assistant', 'assistant']);
  });

  it('holds a pending confirmation until answered', () => {
    const s = run([
      { type: 'transcript', event: transcript('1', 'book the dentist tomorrow at ten'), at: 1 },
      { type: 'agent', event: agent('Create "Dentist"?', { awaiting_confirmation: false, final: false }), at: 2 },
    ]);
    expect(pendingReply(s)).toBeNull();
    const asked = run(
      [
        {
          type: 'agent',
          event: agent('Create "Dentist" tomorrow at 10:00?', { tool_calls: [proposed], awaiting_confirmation: true }),
          at: 3,
        },
      ],
      s,
    );
    expect(pendingReply(asked)).toMatchObject({ role: 'assistant', awaitingConfirmation: true, toolCalls: [proposed] });
    const answered = run([{ type: 'answered', answer: 'yes', at: 4 }], asked);
    expect(pendingReply(answered)).toBeNull();
    expect(answered.turns.at(-1)).toMatchObject({ role: 'user', text: 'Yes', via: 'button' });
  });

  it('clears the pending confirmation when a newer event arrives', () => {
    const asked = run([
      { type: 'agent', event: agent('Send it?', { tool_calls: [proposed], awaiting_confirmation: true }), at: 1 },
    ]);
    expect(pendingReply(asked)).not.toBeNull();
    // The user answered by voice: the transcript and the next reply both end it.
    expect(pendingReply(run([{ type: 'transcript', event: transcript('1', 'no'), at: 2 }], asked))).toBeNull();
    expect(pendingReply(run([{ type: 'typed', text: 'no', at: 2 }], asked))).toBeNull();
    const declined = { ...proposed, status: 'declined' as const };
    expect(
      pendingReply(run([{ type: 'agent', event: agent('OK, not sent.', { tool_calls: [declined] }), at: 2 }], asked)),
    ).toBeNull();
    // A non-final piece of a newer reply ends it too.
    expect(pendingReply(run([{ type: 'agent', event: agent('OK', { final: false }), at: 2 }], asked))).toBeNull();
  });

  it('keeps at most `limit` turns and drops a pending reply that fell off', () => {
    let s = run(
      [{ type: 'agent', event: agent('Send it?', { awaiting_confirmation: true }), at: 0 }],
      createConversation(3),
    );
    expect(() => createConversation(0)).toThrow(RangeError);
    for (let i = 1; i <= 5; i++) s = conversationReducer(s, { type: 'typed', text: `line ${i}`, at: i });
    expect(s.turns.map((t) => t.text)).toEqual(['line 3', 'line 4', 'line 5']);
    expect(pendingReply(s)).toBeNull();
    // Keys stay unique after trimming.
    expect(new Set(s.turns.map((t) => t.key)).size).toBe(3);
  });

  it('clear empties the conversation and the pending confirmation', () => {
    const asked = run([{ type: 'agent', event: agent('Send it?', { awaiting_confirmation: true }), at: 1 }]);
    const cleared = run([{ type: 'clear' }], asked);
    expect(cleared.turns).toEqual([]);
    expect(pendingReply(cleared)).toBeNull();
    expect(conversationReducer(cleared, { type: 'clear' })).toBe(cleared);
  });
});

describe('conversation export', () => {
  const state = run([
    { type: 'transcript', event: transcript('4', 'email ana about lunch'), at: Date.UTC(2026, 10, 25, 9, 0, 0) },
    {
      type: 'agent',
      event: agent('Send "Lunch" to Ana?', { tool_calls: [proposed], awaiting_confirmation: true }),
      at: Date.UTC(2026, 10, 25, 9, 0, 2),
    },
    { type: 'answered', answer: 'no', at: Date.UTC(2026, 10, 25, 9, 0, 5) },
  ]);

  it('exports every turn as plain JSON with ISO times', () => {
    const doc = exportConversation(state, Date.UTC(2026, 10, 25, 9, 1, 0));
    expect(JSON.parse(JSON.stringify(doc))).toEqual({
      format: 'voicedesk-conversation',
      version: 1,
      exported_at: '2026-11-25T09:01:00.000Z',
      turns: [
        {
          role: 'user',
          text: 'email ana about lunch',
          via: 'voice',
          at: '2026-11-25T09:00:00.000Z',
          utterance_id: '4',
          latency_ms: { endpoint: 600, stt: 200, total: 850 },
        },
        {
          role: 'assistant',
          text: 'Send "Lunch" to Ana?',
          tool_calls: [proposed],
          final: true,
          awaiting_confirmation: true,
          source: 'llm',
          at: '2026-11-25T09:00:02.000Z',
        },
        { role: 'user', text: 'No', via: 'button', at: '2026-11-25T09:00:05.000Z' },
      ],
    });
  });

  it('names the file after the local date', () => {
    expect(exportFileName(new Date(2026, 0, 5, 23, 59).getTime())).toBe('voicedesk-conversation-2026-01-05.json');
  });

  it('downloads through a Blob URL and revokes it', async () => {
    vi.useFakeTimers();
    try {
      const blobs: Blob[] = [];
      const env: DownloadEnv = {
        createObjectURL: vi.fn((blob: Blob) => {
          blobs.push(blob);
          return 'blob:test/1';
        }),
        revokeObjectURL: vi.fn(),
        click: vi.fn(),
      };
      const now = new Date(2026, 10, 25, 12).getTime();
      expect(downloadConversation(state, now, env)).toBe('voicedesk-conversation-2026-11-25.json');
      expect(env.click).toHaveBeenCalledWith('blob:test/1', 'voicedesk-conversation-2026-11-25.json');
      expect(blobs[0].type).toBe('application/json');
      expect(JSON.parse(await blobs[0].text())).toEqual(JSON.parse(JSON.stringify(exportConversation(state, now))));
      expect(env.revokeObjectURL).not.toHaveBeenCalled();
      vi.runAllTimers();
      expect(env.revokeObjectURL).toHaveBeenCalledWith('blob:test/1');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('summarizeResult', () => {
  it('summarizes results for a tool card', () => {
    expect(summarizeResult(null)).toBe('');
    expect(summarizeResult('Sent.')).toBe('Sent.');
    expect(summarizeResult([1, 2, 3])).toBe('3 items');
    expect(summarizeResult([1])).toBe('1 item');
    expect(summarizeResult({ summary: 'Two events today', events: [] })).toBe('Two events today');
    expect(summarizeResult({ id: 7 })).toBe('{"id":7}');
    expect(summarizeResult(42)).toBe('42');
    expect(summarizeResult('a\n\n b')).toBe('a b');
    const long = summarizeResult('x'.repeat(500), 20);
    expect(long).toHaveLength(20);
    expect(long.endsWith('…')).toBe(true);
  });
});
