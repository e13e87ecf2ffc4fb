import type { AgentToolCall } from '../protocol';
import { summarizeResult } from '../conversation';

const STATUS_LABELS: Record<AgentToolCall['status'], string> = {
  proposed: 'Waiting for your yes',
  declined: 'Declined',
  done: 'Done',
  failed: 'Failed',
};

/** One tool call of a reply: name, arguments, status, and the result summary or the error. */
export function ToolCallCard({ call }: { call: AgentToolCall }) {
  const args = Object.entries(call.arguments);
  const summary = summarizeResult(call.result);
  return (
    <div
      className={`tool-call tool-${call.status}`}
      role="group"
      aria-label={`Tool ${call.name}: ${STATUS_LABELS[call.status]}`}
      data-testid="tool-call"
      data-tool-name={call.name}
      data-status={call.status}
    >
      <div className="tool-head">
        <code className="tool-name">{call.name}</code>
        <span className="tool-status" data-testid="tool-status">
          {STATUS_LABELS[call.status]}
        </span>
      </div>
      {args.length > 0 && (
        <dl className="tool-args">
          {args.map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
            </div>
          ))}
        </dl>
      )}
      {summary &&
        (call.is_error ? (
          <p className="tool-error" data-testid="tool-error">
            {summary}
          </p>
        ) : (
          <p className="tool-result" data-testid="tool-result">
            {summary}
          </p>
        ))}
    </div>
  );
}
