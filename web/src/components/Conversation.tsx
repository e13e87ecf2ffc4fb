import { memo, useEffect, useLayoutEffect, useRef } from 'react';
import { formatLatency } from '../protocol';
import { formatClock, type AssistantTurn, type Turn, type UserTurn } from '../conversation';
import { ConfirmationPrompt } from './ConfirmationPrompt';
import { MessageInput } from './MessageInput';
import { ToolCallCard } from './ToolCallCard';

export interface ConversationProps {
  turns: Turn[];
  /** The reply waiting for a yes / no, if any. */
  pending: AssistantTurn | null;
  /** Typing and answering need an open session. */
  connected: boolean;
  onSend(text: string): boolean;
  onConfirm(answer: 'yes' | 'no'): void;
  onDownload(): void;
  onClear(): void;
}

function Time({ at }: { at: number }) {
  return <time dateTime={new Date(at).toISOString()}>{formatClock(at)}</time>;
}

function UserBubble({ turn }: { turn: UserTurn }) {
  return (
    <li className="turn turn-user" data-role="user" data-via={turn.via}>
      {/* Spoken turns keep the transcript hooks: the element holds exactly the transcript text. */}
      <p className="text" data-testid={turn.via === 'voice' ? 'transcript' : 'user-text'}>
        {turn.text}
      </p>
      <p className="meta">
        <Time at={turn.at} />
        {turn.latency && (
          <>
            <span aria-hidden="true"> · </span>
            <span className="latency" data-testid="latency" title={`endpoint ${Math.round(turn.latency.endpoint)} ms`}>
              {formatLatency(turn.latency)}
            </span>
          </>
        )}
        {turn.via !== 'voice' && <span className="via"> · {turn.via === 'typed' ? 'typed' : 'clicked'}</span>}
      </p>
    </li>
  );
}

function AssistantBubble({ turn }: { turn: AssistantTurn }) {
  return (
    <li
      className={`turn turn-assistant${turn.final ? '' : ' streaming'}`}
      data-role="assistant"
      data-final={turn.final ? 'true' : 'false'}
      data-awaiting-confirmation={turn.awaitingConfirmation ? 'true' : 'false'}
      aria-busy={!turn.final}
    >
      <p className="text" data-testid="assistant-text">
        {turn.text}
      </p>
      {turn.toolCalls.length > 0 && (
        <div className="tool-calls">
          {turn.toolCalls.map((call, i) => (
            <ToolCallCard key={i} call={call} />
          ))}
        </div>
      )}
      <p className="meta">
        <Time at={turn.at} />
        <span className="via"> · {turn.source === 'llm' ? 'language model' : 'intent parser'}</span>
        {!turn.final && <span className="via"> · typing…</span>}
      </p>
    </li>
  );
}

export const Conversation = memo(function Conversation({
  turns,
  pending,
  connected,
  onSend,
  onConfirm,
  onDownload,
  onClear,
}: ConversationProps) {
  const scroller = useRef<HTMLDivElement | null>(null);
  const pinned = useRef(true);

  // Follow the conversation unless the user scrolled up to read.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [turns, pending]);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onScroll = () => {
      pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 32;
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => el.removeEventListener('scroll', onScroll);
  }, []);

  const empty = turns.length === 0;
  return (
    <section className="panel conversation" aria-labelledby="conversation-title">
      <div className="conversation-head">
        <h2 id="conversation-title">Conversation</h2>
        <div className="head-actions">
          <button
            type="button"
            className="link"
            data-testid="download"
            title="Download the conversation as JSON"
            onClick={onDownload}
            disabled={empty}
          >
            Download
          </button>
          <button type="button" className="link" onClick={onClear} disabled={empty}>
            Clear
          </button>
        </div>
      </div>
      <div className="conversation-scroll" ref={scroller} tabIndex={0} aria-label="Conversation history">
        {empty ? <p className="empty">Press Start and speak, or type below; the conversation appears here.</p> : null}
        <ol aria-live="polite" aria-relevant="additions" data-testid="conversation">
          {turns.map((t) =>
            t.role === 'user' ? <UserBubble key={t.key} turn={t} /> : <AssistantBubble key={t.key} turn={t} />,
          )}
        </ol>
      </div>
      {pending && <ConfirmationPrompt disabled={!connected} onAnswer={onConfirm} />}
      <MessageInput disabled={!connected} onSend={onSend} />
    </section>
  );
});
