// The official TypeScript SDK client against `voicedesk mcp`: Streamable HTTP
// with HMAC tokens (and the 401s for missing, bad and replayed ones), stdio.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { binary, killOnExit, makeWorkDir, missingFiles, serverCommand, sharedDir, startHttpServer } from './server.mjs';
import { fetchWithTokens, mintToken, readSecretKey } from './token.mjs';

const jfk = path.join(sharedDir, 'audio', 'jfk.wav');
const skip = missingFiles([jfk]);
const REQUEST_TIMEOUT_MS = 60_000;
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'voicedesk-tests', version: '1' } },
};

// Duration of a PCM WAV file from its fmt and data chunks.
function wavDurationSeconds(file) {
  const b = fs.readFileSync(file);
  let byteRate = 0;
  for (let offset = 12; offset + 8 <= b.length;) {
    const id = b.toString('ascii', offset, offset + 4);
    const size = b.readUInt32LE(offset + 4);
    if (id === 'fmt ') byteRate = b.readUInt32LE(offset + 16);
    if (id === 'data') return size / byteRate;
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

// Connects an SDK client over transport, runs body(client), and closes the
// client (and with it the transport) whatever happens.
async function withClient(transport, body) {
  const client = new Client({ name: 'voicedesk-tests', version: '1.0.0' });
  try {
    await client.connect(transport, { timeout: REQUEST_TIMEOUT_MS });
    await body(client);
  } finally {
    await client.close();
  }
}

// The SDK's stdio transport, with the server it spawns killed should the
// test process exit before the transport's own shutdown (stdin EOF, SIGTERM,
// SIGKILL) has run its course.
class StdioTransportKilledOnExit extends StdioClientTransport {
  async start() {
    await super.start();
    this.forget = killOnExit(this.pid);
  }

  async close() {
    // Only the first close owns the process (a later one returns at once).
    const ownsProcess = this.pid !== null;
    await super.close();
    if (ownsProcess) this.forget?.();
  }
}

async function expectTranscribeTool(client) {
  const { tools } = await client.listTools(undefined, { timeout: REQUEST_TIMEOUT_MS });
  const names = tools.map((t) => t.name);
  assert.ok(names.includes('transcribe'), `tools: ${names.join(', ')}`);
  const transcribe = tools.find((t) => t.name === 'transcribe');
  assert.equal(transcribe.inputSchema.type, 'object');
}

async function expectJfkTranscript(client, args) {
  const result = await client.callTool({ name: 'transcribe', arguments: args }, undefined, { timeout: REQUEST_TIMEOUT_MS });
  assert.notEqual(result.isError, true, `transcribe failed: ${JSON.stringify(result.content)}`);
  const s = result.structuredContent;
  assert.ok(s, `no structuredContent: ${JSON.stringify(result)}`);
  assert.equal(typeof s.text, 'string');
  assert.match(s.text.toLowerCase(), /country/, `text: ${s.text}`);
  assert.ok(Array.isArray(s.segments) && s.segments.length > 0, `segments: ${JSON.stringify(s.segments)}`);
  for (const segment of s.segments) {
    assert.equal(typeof segment.text, 'string');
    assert.ok(Number.isFinite(segment.start) && Number.isFinite(segment.end) && segment.start <= segment.end,
      `segment: ${JSON.stringify(segment)}`);
  }
  assert.equal(typeof s.language, 'string');
  assert.ok(Math.abs(s.duration_s - wavDurationSeconds(jfk)) < 0.1, `duration_s ${s.duration_s}`);
  assert.equal(typeof s.model, 'string');
  assert.ok(s.timings_ms && typeof s.timings_ms === 'object', `timings_ms: ${JSON.stringify(s.timings_ms)}`);
  const textItem = result.content.find((c) => c.type === 'text');
  assert.ok(textItem, `no text content: ${JSON.stringify(result.content)}`);
  assert.equal(textItem.text.trim(), s.text.trim());
  console.log(`transcript: ${s.text} (${JSON.stringify(s.timings_ms)})`);
}

describe('streamable HTTP with HMAC tokens', { skip }, () => {
  let workDir;
  let server;
  before(async () => {
    workDir = makeWorkDir();
    server = await startHttpServer(workDir);
  }, { timeout: 90_000 });
  after(async () => {
    await server?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('SDK client lists tools and transcribes jfk.wav', { timeout: 240_000 }, async () => {
    const key = readSecretKey(server.secretFile);
    const transport = new StreamableHTTPClientTransport(new URL(server.url), { fetch: fetchWithTokens(key) });
    await withClient(transport, async (client) => {
      await expectTranscribeTool(client);
      await expectJfkTranscript(client, { audio: fs.readFileSync(jfk).toString('base64') });
      await transport.terminateSession();
    });
  });

  test('Authorization: Bearer works as well as X-API-Key', { timeout: 30_000 }, async () => {
    const key = readSecretKey(server.secretFile);
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      fetch: fetchWithTokens(key, { header: 'Authorization' }),
    });
    await withClient(transport, expectTranscribeTool);
  });

  const post = (headers) => fetch(server.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(INITIALIZE),
  });

  async function expect401(response, why) {
    assert.equal(response.status, 401, why);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/, why);
    const body = await response.json();  // must parse
    assert.ok(body && typeof body === 'object', `${why}: body ${JSON.stringify(body)}`);
  }

  test('a request without a token gets 401 with a JSON body', { timeout: 30_000 }, async () => {
    await expect401(await post({}), 'no token');
  });

  test('bad, foreign-audience and replayed tokens get 401', { timeout: 30_000 }, async () => {
    const key = readSecretKey(server.secretFile);
    const token = mintToken(key);
    const tampered = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
    await expect401(await post({ 'X-API-Key': tampered }), 'tampered MAC');
    await expect401(await post({ 'X-API-Key': mintToken(key, { audience: 'rtc' }) }), 'other audience');
    await expect401(await post({ 'X-API-Key': mintToken(key, { nowMs: Date.now() - 3600_000 }) }), 'expired window');
    await expect401(await post({ 'X-API-Key': mintToken(Buffer.alloc(32, 7)) }), 'wrong key');
    const first = await post({ 'X-API-Key': token });
    const firstBody = await first.text();
    assert.equal(first.status, 200, `fresh token: ${first.status} ${firstBody}`);
    await expect401(await post({ 'X-API-Key': token }), 'replayed token');
  });

  test('/healthz and /readyz answer 200 without a token', { timeout: 10_000 }, async () => {
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.baseUrl}/readyz`)).status, 200);
  });
});

describe('stdio', { skip }, () => {
  let workDir;
  before(() => { workDir = makeWorkDir(); });
  after(() => fs.rmSync(workDir, { recursive: true, force: true }));

  test('SDK client over stdio lists tools and transcribes jfk.wav', { timeout: 240_000 }, async () => {
    // `path` arguments are read only under the configured directories.
    const { args } = serverCommand(workDir, ['--stdio', '--set', `VOICEDESK_MCP_ALLOWED_DIRS=${path.dirname(jfk)}`]);
    const transport = new StdioTransportKilledOnExit({ command: binary, args, env: { ...process.env }, stderr: 'inherit' });
    await withClient(transport, async (client) => {
      await expectTranscribeTool(client);
      await expectJfkTranscript(client, { path: jfk });
    });
  });
});
