// Live input level of a MediaStream: WebAudio AnalyserNode, sampled at ~20 Hz.
import { computeRms, rmsToLevel, smoothLevel } from './level';

export const METER_INTERVAL_MS = 50;

/** Starts metering; returns a function that stops it and releases the AudioContext. */
export function startLevelMeter(stream: MediaStream, onLevel: (level: number) => void): () => void {
  const Ctx: typeof AudioContext | undefined =
    globalThis.AudioContext ?? (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctx) return () => onLevel(0);
  const context = new Ctx();
  void context.resume().catch(() => undefined);
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  source.connect(analyser); // not to the destination: no local echo
  const buffer = new Float32Array(analyser.fftSize);
  let level = 0;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(buffer);
    level = smoothLevel(level, rmsToLevel(computeRms(buffer)));
    onLevel(level < 0.005 ? 0 : level);
  }, METER_INTERVAL_MS);
  return () => {
    clearInterval(timer);
    source.disconnect();
    void context.close().catch(() => undefined);
    onLevel(0);
  };
}
