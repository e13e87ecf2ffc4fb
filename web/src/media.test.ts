import { describe, expect, it, vi } from 'vitest';
import { AUDIO_CONSTRAINTS, microphoneError, MicrophoneError, openMicrophone } from './media';

const domError = (name: string, message = '') => Object.assign(new Error(message), { name });

describe('microphone errors', () => {
  it('maps permission denial to a clear message', () => {
    const e = microphoneError(domError('NotAllowedError', 'Permission denied'));
    expect(e.reason).toBe('denied');
    expect(e.message).toMatch(/denied/i);
    expect(e.message).toMatch(/Start again/);
  });

  it('maps missing devices and busy devices', () => {
    expect(microphoneError(domError('NotFoundError')).reason).toBe('no-device');
    expect(microphoneError(domError('OverconstrainedError')).reason).toBe('no-device');
    expect(microphoneError(domError('NotReadableError')).reason).toBe('busy');
    expect(microphoneError('weird').reason).toBe('other');
  });

  it('asks getUserMedia for raw audio and returns the stream', async () => {
    const stream = { getAudioTracks: () => [{}], getTracks: () => [] } as unknown as MediaStream;
    const getUserMedia = vi.fn(async () => stream);
    await expect(openMicrophone({ getUserMedia }, true)).resolves.toBe(stream);
    expect(getUserMedia).toHaveBeenCalledWith(AUDIO_CONSTRAINTS);
    expect(AUDIO_CONSTRAINTS.audio).toEqual({
      echoCancellation: false,
      noiseSuppression: false,
      autoGainControl: false,
    });
  });

  it('rejects with a MicrophoneError when denied, missing or insecure', async () => {
    const denied = vi.fn(async () => {
      throw domError('NotAllowedError');
    });
    await expect(openMicrophone({ getUserMedia: denied }, true)).rejects.toMatchObject({ reason: 'denied' });
    await expect(openMicrophone(undefined, false)).rejects.toMatchObject({ reason: 'insecure' });
    await expect(openMicrophone(undefined, true)).rejects.toBeInstanceOf(MicrophoneError);
    const stop = vi.fn();
    const empty = { getAudioTracks: () => [], getTracks: () => [{ stop }] } as unknown as MediaStream;
    await expect(openMicrophone({ getUserMedia: async () => empty }, true)).rejects.toMatchObject({
      reason: 'no-device',
    });
    expect(stop).toHaveBeenCalled();
  });
});
