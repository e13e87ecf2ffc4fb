import { memo, useEffect, useLayoutEffect, useRef } from 'react';
import { formatLatency } from '../protocol';
import { formatClock, type TimelineEntry } from '../timeline';

export const Timeline = memo(function Timeline({
  entries,
  onClear,
}: {
  entries: TimelineEntry[];
  onClear(): void;
}) {
  const scroller = useRef<HTMLDivElement | null>(null);
  const pinned = useRef(true);

  // Follow new transcripts unless the user scrolled up to read.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [entries]);
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onScroll = () => {
      pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 32;
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => el.removeEventListener('scroll', onScroll);
  }, []);

  return (
    <section className="panel timeline" aria-labelledby="timeline-title">
      <div className="timeline-head">
        <h2 id="timeline-title">Transcript</h2>
        <button type="button" className="link" onClick={onClear} disabled={entries.length === 0}>
          Clear
        </button>
      </div>
      <div className="timeline-scroll" ref={scroller} tabIndex={0} aria-label="Transcript timeline">
        {entries.length === 0 ? (
          <p className="empty">Press Start and speak; each finished utterance appears here.</p>
        ) : null}
        <ol aria-live="polite" aria-relevant="additions" data-testid="timeline">
          {entries.map((e) => (
            <li key={e.id} className="utterance">
              <p className="text" data-testid="transcript">
                {e.text}
              </p>
              <p className="meta">
                <time dateTime={new Date(e.receivedAt).toISOString()}>{formatClock(e.receivedAt)}</time>
                <span aria-hidden="true"> · </span>
                <span className="latency" data-testid="latency" title={`endpoint ${Math.round(e.latency.endpoint)} ms`}>
                  {formatLatency(e.latency)}
                </span>
              </p>
            </li>
          ))}
        </ol>
      </div>
    </section>
  );
});
