// Input level: RMS of a time-domain buffer (AnalyserNode output) and its
// mapping to a 0..1 meter position on a decibel scale.

/**
 * RMS of one buffer, 0..1. Float32Array samples are in [-1, 1]
 * (getFloatTimeDomainData); Uint8Array samples are 0..255 with 128 as zero
 * (getByteTimeDomainData).
 */
export function computeRms(buffer: Float32Array | Uint8Array): number {
  const n = buffer.length;
  if (n === 0) return 0;
  let sum = 0;
  if (buffer instanceof Uint8Array) {
    for (let i = 0; i < n; i++) {
      const s = (buffer[i] - 128) / 128;
      sum += s * s;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const s = buffer[i];
      if (Number.isFinite(s)) sum += s * s;
    }
  }
  const rms = Math.sqrt(sum / n);
  return rms > 1 ? 1 : rms;
}

export const METER_FLOOR_DB = -60;

/** Maps RMS to a meter position: METER_FLOOR_DB dBFS and below -> 0, 0 dBFS -> 1. */
export function rmsToLevel(rms: number, floorDb = METER_FLOOR_DB): number {
  if (!(rms > 0)) return 0;
  const db = 20 * Math.log10(Math.min(rms, 1));
  const level = (db - floorDb) / -floorDb;
  return level < 0 ? 0 : level > 1 ? 1 : level;
}

/** Fast attack, slow release, so the meter does not flicker at 20 Hz. */
export function smoothLevel(previous: number, current: number, release = 0.75): number {
  return current >= previous ? current : previous * release + current * (1 - release);
}
