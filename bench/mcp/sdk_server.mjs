// The reference for scripts/bench-mcp: the official TypeScript MCP SDK serving
// the same `echo` tool as `voicedesk mcp --bench-tools`, in the SDK's fastest
// sane configuration: plain node:http (no express), stateful sessions,
// JSON responses instead of SSE streams, a localhost Host check against DNS
// rebinding. Usage: node bench/mcp/sdk_server.mjs PORT
// The SDK comes from tests/mcp's node_modules, the very version the tests use.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/mcp/package.json', import.meta.url));
const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');
const { StreamableHTTPServerTransport } = require('@modelcontextprotocol/sdk/server/streamableHttp.js');
const { isInitializeRequest } = require('@modelcontextprotocol/sdk/types.js');
const z = require('zod');

const MAX_BODY_BYTES = 1 << 20;
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: sdk_server.mjs PORT');
  process.exit(2);
}
const allowedHost = new RegExp(`^(127\\.0\\.0\\.1|localhost|\\[::1\\])(:${port})?$`);

function createServer() {
  const server = new McpServer({ name: 'sdk-bench-server', version: '1.0.0' });
  server.registerTool('echo', {
    description: 'Returns its input text',
    inputSchema: { text: z.string() },
    outputSchema: { text: z.string() },
  }, async ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { text } }));
  return server;
}

const sessions = new Map();  // Mcp-Session-Id -> transport

function sendJsonError(res, status, message) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

function readJsonBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new Error('body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => {
      try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (e) { reject(e); }
    });
    req.on('error', reject);
  });
}

async function handleMcp(req, res) {
  const sessionId = req.headers['mcp-session-id'];
  const existing = sessionId ? sessions.get(sessionId) : undefined;
  if (req.method !== 'POST') {
    if (!existing) return sendJsonError(res, sessionId ? 404 : 400, 'Invalid or missing session ID');
    return existing.handleRequest(req, res);
  }
  let body;
  try {
    body = await readJsonBody(req);
  } catch (e) {
    return sendJsonError(res, 400, `Bad request body: ${e.message}`);
  }
  if (existing) return existing.handleRequest(req, res, body);
  if (sessionId) return sendJsonError(res, 404, 'Session not found');
  if (!isInitializeRequest(body)) return sendJsonError(res, 400, 'Invalid or missing session ID');

  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: true,
    onsessioninitialized: (id) => sessions.set(id, transport),
  });
  transport.onclose = () => sessions.delete(transport.sessionId);
  await createServer().connect(transport);
  return transport.handleRequest(req, res, body);
}

const httpServer = http.createServer((req, res) => {
  if (!allowedHost.test(req.headers.host ?? '')) return sendJsonError(res, 403, 'Host not allowed');
  const { pathname } = new URL(req.url, 'http://localhost');
  if (pathname === '/healthz' || pathname === '/readyz') return res.writeHead(200).end('ok\n');
  if (pathname !== '/mcp') return sendJsonError(res, 404, 'Not found');
  handleMcp(req, res).catch((e) => {
    if (!res.headersSent) sendJsonError(res, 500, e.message);
  });
});
httpServer.keepAliveTimeout = 60_000;
httpServer.listen(port, '127.0.0.1', () => console.error(`sdk_server: http://127.0.0.1:${port}/mcp`));

const shutDown = () => {
  httpServer.close(() => process.exit(0));
  httpServer.closeAllConnections();
};
process.on('SIGTERM', shutDown);
process.on('SIGINT', shutDown);
