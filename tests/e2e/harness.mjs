// What the end-to-end tests and the latency measurement share: the fake
// microphone (shared speech clips as one WAV), `voicedesk up` on a free port
// and Debian's chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const shared = process.env.VOICEDESK_SHARED_DIR || path.resolve(repo, '../shared');
export const binary = process.env.VOICEDESK_BINARY || path.join(repo, 'build/src/app/voicedesk');
export const CHROMIUM = '/usr/bin/chromium';

// The shared command clips and what is said in them (../shared/audio/SOURCES.md).
export const CLIPS = [
  ['send-email.wav', 'Send an email to Alice saying the meeting moved to three pm'],
  ['schedule-meeting.wav', 'Schedule a meeting with Bob tomorrow at ten in the morning for thirty minutes'],
  ['calendar-friday.wav', 'What is on my calendar for Friday'],
];
export const JFK = [
  'jfk.wav',
  'And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.',
];

const BROWSER_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

/** A shared clip's path from its name; a path (with a directory) is used as it is. */
export const clipPath = (name) => (name.includes('/') ? name : path.join(shared, 'audio', name));

/** The files among `files` that do not exist. */
export const missingFiles = (files) => files.filter((f) => !fs.existsSync(f));

// --- WAV helpers (16-bit PCM mono, as the shared clips are) ---------------

export function readWav(file) {
  const b = fs.readFileSync(file);
  let offset = 12;
  let rate = 0;
  while (offset + 8 <= b.length) {
    const id = b.toString('ascii', offset, offset + 4);
    const size = b.readUInt32LE(offset + 4);
    if (id === 'fmt ') rate = b.readUInt32LE(offset + 12);
    if (id === 'data') {
      const samples = new Int16Array(size / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = b.readInt16LE(offset + 8 + 2 * i);
      return { rate, samples };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

export function writeWav(file, samples, rate) {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + samples.length * 2, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i], 44 + 2 * i);
  fs.writeFileSync(file, b);
}

// The clips (shared clip names or WAV paths) at 48 kHz with `gapSeconds` of silence after each and 1 s before
// the first (linear interpolation is plenty for a test signal).
export function fakeMicrophone(clipNames, file, gapSeconds = 1.5) {
  const rate = 48000;
  const parts = [new Int16Array(rate)];
  for (const name of clipNames) {
    const { rate: r, samples } = readWav(clipPath(name));
    const n = Math.floor((samples.length * rate) / r);
    const up = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const x = (i * r) / rate;
      const j = Math.floor(x);
      const f = x - j;
      up[i] = Math.round(samples[j] * (1 - f) + (samples[Math.min(j + 1, samples.length - 1)] * f));
    }
    parts.push(up, new Int16Array(Math.round(rate * gapSeconds)));
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Int16Array(total);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  writeWav(file, all, rate);
  return file;
}

// --- server -----------------------------------------------------------------

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

// The service secret the servers of one test run share (never the user's own).
export const secretFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-secret-')), 'service.key');
const dataHome = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-data-'));
process.on('exit', () => fs.rmSync(dataHome, { recursive: true, force: true }));

/**
 * `voicedesk COMMAND` (up, or mcp) on a free loopback port, with `env` added to
 * the environment; resolves once `readyPath` answers 200.
 */
export async function startServer(env = {}, command = 'up', readyPath = '/healthz') {
  const port = await freePort();
  // VOICEDESK_BINARY is the harness's, not a configuration key voicedesk knows.
  const { VOICEDESK_BINARY: _, ...inherited } = process.env;
  const proc = spawn(binary, [command, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    // Data files (conversation history, calendar, outbox) in a scratch directory, never the user's.
    env: {
      ...inherited, VOICEDESK_STT_THREADS: '2', VOICEDESK_AUTH_SECRET_FILE: secretFile, XDG_DATA_HOME: dataHome, ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 1200; i++) {
    if (proc.exitCode !== null) throw new Error(`voicedesk ${command} exited with ${proc.exitCode}`);
    try { if ((await fetch(`${url}${readyPath}`)).ok) return { proc, url }; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`voicedesk ${command} did not answer ${readyPath}`);
}

/** Stops a server from startServer() and waits for it to exit. */
export function stopServer(server) {
  if (!server || server.proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    server.proc.once('exit', resolve);
    server.proc.kill('SIGTERM');
  });
}

export function processStats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm'))[1]);
  return { threads: field('Threads'), rssKb: field('VmRSS') };
}

// --- browser ----------------------------------------------------------------

/** Polls `predicate` (sync or async) every 100 ms until it returns a truthy value, which it returns. */
export async function waitFor(predicate, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await predicate();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A page init script (page.addInitScript) that records every message the
 * server sends on the page's DataChannels, with the time it arrived (Date.now()).
 */
export function RECORD_SERVER_EVENTS() {
  const messages = [];
  window.__serverEvents = messages;
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...channelArgs) {
    const channel = create.apply(this, channelArgs);
    channel.addEventListener('message', (event) => messages.push({ at: Date.now(), data: event.data }));
    return channel;
  };
}

/** The server's events so far on a page with RECORD_SERVER_EVENTS: [{at, event}], in order. */
export async function serverEvents(page) {
  const messages = await page.evaluate(() => window.__serverEvents);
  return messages.map(({ at, data }) => ({ at, event: JSON.parse(data) }));
}

/**
 * A page init script (page.addInitScript) that watches the spoken replies the
 * page receives: window.__peerConnections holds every peer connection, and
 * window.__replyAudio.nonSilentAt the time (Date.now(), the clock the server's
 * *_at_ms fields use) of every received 10 ms audio frame whose peak is above
 * -40 dBFS, read with a MediaStreamTrackProcessor as the page plays the track.
 */
export function RECORD_REPLY_AUDIO() {
  const replyAudio = { nonSilentAt: [], error: null };
  window.__replyAudio = replyAudio;
  window.__peerConnections = [];
  const watch = async (track) => {
    const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
    let samples = new Float32Array(0);
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done) return;
      const at = Date.now();
      if (samples.length < frame.numberOfFrames) samples = new Float32Array(frame.numberOfFrames);
      frame.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
      let peak = 0;
      for (let i = 0; i < frame.numberOfFrames; i++) peak = Math.max(peak, Math.abs(samples[i]));
      frame.close();
      if (peak > 0.01) replyAudio.nonSilentAt.push(at);
    }
  };
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__peerConnections.push(pc);
    pc.addEventListener('track', ({ track }) => {
      if (track.kind === 'audio') watch(track).catch((error) => { replyAudio.error = String(error); });
    });
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
}

/** The received audio's total energy (inbound-rtp totalAudioEnergy) on a page with RECORD_REPLY_AUDIO. */
export async function receivedAudioEnergy(page) {
  return page.evaluate(async () => {
    let energy = 0;
    for (const pc of window.__peerConnections ?? []) {
      (await pc.getStats()).forEach((report) => {
        if (report.type === 'inbound-rtp' && report.kind === 'audio') energy += report.totalAudioEnergy ?? 0;
      });
    }
    return energy;
  });
}

/** Headless chromium whose microphone plays `wav` once. */
export async function launch(wav) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...BROWSER_FLAGS, `--use-file-for-fake-audio-capture=${wav}%noloop`],
  });
  return { context, close: async () => { await context.close(); fs.rmSync(profile, { recursive: true, force: true }); } };
}

export function wordErrorRate(reference, hypothesis) {
  const words = (t) => t.toLowerCase().replace(/[^a-z0-9' ]/g, ' ').split(/\s+/).filter(Boolean);
  const r = words(reference);
  const h = words(hypothesis);
  const d = Array.from({ length: r.length + 1 }, (_, i) => [i, ...Array(h.length).fill(0)]);
  for (let j = 1; j <= h.length; j++) d[0][j] = j;
  for (let i = 1; i <= r.length; i++) {
    for (let j = 1; j <= h.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
  }
  return r.length ? d[r.length][h.length] / r.length : 0;
}
