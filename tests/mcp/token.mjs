// Mints the single-use tokens `voicedesk mcp --auth hmac` accepts:
//   "vd1." + WINDOW + "." + NONCE + "." + MAC
// WINDOW = floor(unix seconds / 5), NONCE = 8 random bytes as lowercase hex,
// MAC = lowercase hex HMAC-SHA256(key, "vd1|WINDOW|NONCE|AUDIENCE"), where the
// key is the 32 bytes whose hex text is the content of the server's secret file.
import crypto from 'node:crypto';
import fs from 'node:fs';

export const TOKEN_WINDOW_SECONDS = 5;
export const DEFAULT_AUDIENCE = 'mcp';

export function readSecretKey(secretFile) {
  const hex = fs.readFileSync(secretFile, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`${secretFile}: expected 64 hex characters`);
  return Buffer.from(hex, 'hex');
}

export function mintToken(key, { audience = DEFAULT_AUDIENCE, nowMs = Date.now() } = {}) {
  const window = Math.floor(nowMs / 1000 / TOKEN_WINDOW_SECONDS);
  const nonce = crypto.randomBytes(8).toString('hex');
  const mac = crypto.createHmac('sha256', key).update(`vd1|${window}|${nonce}|${audience}`).digest('hex');
  return `vd1.${window}.${nonce}.${mac}`;
}

// A fetch for the SDK's StreamableHTTPClientTransport that sends a fresh token
// with every request (tokens are single-use, and the transport reuses headers).
export function fetchWithTokens(key, { audience = DEFAULT_AUDIENCE, header = 'X-API-Key' } = {}) {
  return (url, init = {}) => {
    const headers = new Headers(init.headers);
    const token = mintToken(key, { audience });
    headers.set(header, header.toLowerCase() === 'authorization' ? `Bearer ${token}` : token);
    return fetch(url, { ...init, headers });
  };
}
