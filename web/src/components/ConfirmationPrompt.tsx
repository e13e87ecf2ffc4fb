/** Yes / No for a reply that waits for the user's confirmation (they may also say it). */
export function ConfirmationPrompt({
  disabled,
  onAnswer,
}: {
  disabled: boolean;
  onAnswer(answer: 'yes' | 'no'): void;
}) {
  return (
    <div className="confirm" role="group" aria-labelledby="confirm-label" data-testid="confirmation">
      <span id="confirm-label">Go ahead? Say or click:</span>
      <button
        type="button"
        className="primary"
        data-testid="confirm-yes"
        disabled={disabled}
        onClick={() => onAnswer('yes')}
      >
        Yes
      </button>
      <button
        type="button"
        className="secondary"
        data-testid="confirm-no"
        disabled={disabled}
        onClick={() => onAnswer('no')}
      >
        No
      </button>
    </div>
  );
}
