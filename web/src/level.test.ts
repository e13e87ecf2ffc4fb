import { describe, expect, it } from 'vitest';
import { computeRms, rmsToLevel, smoothLevel } from './level';

describe('computeRms', () => {
  it('is 0 for silence and empty buffers', () => {
    expect(computeRms(new Float32Array(512))).toBe(0);
    expect(computeRms(new Uint8Array(512).fill(128))).toBe(0);
    expect(computeRms(new Float32Array(0))).toBe(0);
  });

  it('gives amplitude/sqrt(2) for a float sine', () => {
    const b = new Float32Array(4800);
    for (let i = 0; i < b.length; i++) b[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 48000);
    expect(computeRms(b)).toBeCloseTo(0.5 / Math.SQRT2, 3);
  });

  it('decodes byte samples around 128', () => {
    const b = new Uint8Array(100);
    for (let i = 0; i < b.length; i++) b[i] = i % 2 ? 192 : 64; // +-0.5
    expect(computeRms(b)).toBeCloseTo(0.5, 6);
  });

  it('clamps to 1 and skips non-finite samples', () => {
    expect(computeRms(Float32Array.from([4, -4, 4, -4]))).toBe(1);
    expect(computeRms(Float32Array.from([Number.NaN, 0, 0, 0]))).toBe(0);
  });
});

describe('rmsToLevel / smoothLevel', () => {
  it('maps -60 dBFS..0 dBFS to 0..1', () => {
    expect(rmsToLevel(0)).toBe(0);
    expect(rmsToLevel(0.0001)).toBe(0); // -80 dB
    expect(rmsToLevel(1)).toBe(1);
    expect(rmsToLevel(0.001)).toBeCloseTo(0, 6); // -60 dB
    expect(rmsToLevel(0.031623)).toBeCloseTo(0.5, 3); // -30 dB
    expect(rmsToLevel(2)).toBe(1);
  });

  it('attacks instantly and releases gradually', () => {
    expect(smoothLevel(0.2, 0.8)).toBe(0.8);
    const released = smoothLevel(0.8, 0);
    expect(released).toBeGreaterThan(0);
    expect(released).toBeLessThan(0.8);
  });
});
