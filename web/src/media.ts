// Microphone access: constraints and user-facing messages for failures.

/** Raw audio: the server runs its own VAD and speech-to-text. */
export const AUDIO_CONSTRAINTS: MediaStreamConstraints = {
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  video: false,
};

export class MicrophoneError extends Error {
  constructor(
    message: string,
    readonly reason: 'denied' | 'no-device' | 'busy' | 'insecure' | 'unsupported' | 'other',
  ) {
    super(message);
    this.name = 'MicrophoneError';
  }
}

export function microphoneError(err: unknown): MicrophoneError {
  if (err instanceof MicrophoneError) return err;
  const name = (err as { name?: unknown } | null)?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return new MicrophoneError(
        'Microphone access was denied. Allow the microphone for this site in your browser settings, then press Start again.',
        'denied',
      );
    case 'SecurityError':
      return new MicrophoneError(
        'The browser blocked microphone access on this page. Open voicedesk over https or at http://127.0.0.1.',
        'insecure',
      );
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return new MicrophoneError('No microphone was found. Connect one and press Start again.', 'no-device');
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return new MicrophoneError(
        'The microphone could not be opened; another application may be using it.',
        'busy',
      );
    default: {
      const detail = (err as { message?: unknown } | null)?.message;
      return new MicrophoneError(
        `The microphone could not be opened${typeof detail === 'string' && detail ? `: ${detail}` : '.'}`,
        'other',
      );
    }
  }
}

/** getUserMedia, with the "no API" cases (insecure context, old browser) turned into a MicrophoneError. */
export async function openMicrophone(
  mediaDevices: Pick<MediaDevices, 'getUserMedia'> | undefined,
  secureContext: boolean,
): Promise<MediaStream> {
  if (!mediaDevices?.getUserMedia) {
    throw secureContext
      ? new MicrophoneError('This browser cannot capture audio (no getUserMedia).', 'unsupported')
      : new MicrophoneError(
          'Microphone access needs a secure page: open voicedesk over https or at http://127.0.0.1 / http://localhost.',
          'insecure',
        );
  }
  try {
    const stream = await mediaDevices.getUserMedia(AUDIO_CONSTRAINTS);
    if (stream.getAudioTracks().length === 0) {
      stream.getTracks().forEach((t) => t.stop());
      throw new MicrophoneError('No microphone was found. Connect one and press Start again.', 'no-device');
    }
    return stream;
  } catch (err) {
    throw microphoneError(err);
  }
}
