export function LevelMeter({ level, active }: { level: number; active: boolean }) {
  const value = Math.max(0, Math.min(1, level));
  const percent = Math.round(value * 100);
  return (
    <div className="meter-row">
      <span id="level-label" className="meter-label">
        Input level
      </span>
      <div
        className={`meter${active ? '' : ' inactive'}`}
        role="meter"
        aria-labelledby="level-label"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={active ? `${percent}%` : 'microphone off'}
        data-testid="level"
        data-level={value.toFixed(3)}
      >
        <div className="meter-fill" />
        <div className="meter-rest" style={{ transform: `scaleX(${1 - value})` }} />
      </div>
    </div>
  );
}
