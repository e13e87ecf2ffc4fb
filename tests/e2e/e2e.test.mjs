// End-to-end: Debian's chromium (driven by playwright-core) with a fake
// microphone talks to a real `voicedesk up` over WebRTC; transcripts must
// appear on the page. Run by scripts/test after the C++ build.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const shared = process.env.VOICEDESK_SHARED_DIR || path.resolve(repo, '../shared');
const binary = process.env.VOICEDESK_BINARY || path.join(repo, 'build/src/app/voicedesk');
const outDir = process.env.E2E_OUTPUT_DIR || path.join(repo, 'build/e2e');
const realModel = process.env.VOICEDESK_TEST_MODEL || '';
// Without a real Whisper model, the pocketsphinx fallback a fresh install uses.
// (The random-weight micro model is no shortcut here: its output always runs
// to the token limit and through every fallback temperature.)
const model = realModel;

const CLIPS = [
  ['send-email.wav', 'Send an email to Alice saying the meeting moved to three pm'],
  ['schedule-meeting.wav', 'Schedule a meeting with Bob tomorrow at ten in the morning for thirty minutes'],
  ['calendar-friday.wav', 'What is on my calendar for Friday'],
];
const BROWSER_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
];

const missing = [binary, '/usr/bin/chromium', ...(model ? [model] : []), ...CLIPS.map(([f]) => path.join(shared, 'audio', f))]
  .filter((f) => !fs.existsSync(f));
const skip = missing.length ? `missing: ${missing.join(', ')}` : false;

// --- WAV helpers (16-bit PCM mono, as the shared clips are) ---------------

function readWav(file) {
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

function writeWav(file, samples, rate) {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + samples.length * 2, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i], 44 + 2 * i);
  fs.writeFileSync(file, b);
}

// The clips, 1.5 s of silence between and around them, at 48 kHz (linear
// interpolation is plenty for a test signal).
function fakeMicrophone(clipNames, file) {
  const rate = 48000;
  const parts = [new Int16Array(rate)];
  for (const name of clipNames) {
    const { rate: r, samples } = readWav(path.join(shared, 'audio', name));
    const n = Math.floor((samples.length * rate) / r);
    const up = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const x = (i * r) / rate;
      const j = Math.floor(x);
      const f = x - j;
      up[i] = Math.round(samples[j] * (1 - f) + (samples[Math.min(j + 1, samples.length - 1)] * f));
    }
    parts.push(up, new Int16Array(rate * 1.5));
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  const all = new Int16Array(total);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  writeWav(file, all, rate);
  return file;
}

// --- server -----------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function startServer() {
  const port = await freePort();
  const proc = spawn(binary, ['up', '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, VOICEDESK_WHISPER_MODEL: model, VOICEDESK_STT_THREADS: '2' },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) return { proc, url }; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error('voicedesk up did not answer /healthz');
}

function processStats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm'))[1]);
  return { threads: field('Threads'), rssKb: field('VmRSS') };
}

async function launch(wav) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...BROWSER_FLAGS, `--use-file-for-fake-audio-capture=${wav}%noloop`],
  });
  return { context, close: async () => { await context.close(); fs.rmSync(profile, { recursive: true, force: true }); } };
}

function wordErrorRate(reference, hypothesis) {
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

// --- tests ------------------------------------------------------------------

let server;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-audio-'));

before(async () => { if (!skip) server = await startServer(); });
after(() => {
  server?.proc.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
});

test('one transcript per spoken clip, in order, with latency', { skip, timeout: 120_000 }, async () => {
  const wav = fakeMicrophone(CLIPS.map(([f]) => f), path.join(work, 'clips.wav'));
  const browser = await launch(wav);
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.getByTestId('status').filter({ hasText: 'idle' }).waitFor();
    await page.getByTestId('start').click();
    await page.getByTestId('status').filter({ hasText: 'connected' }).waitFor({ timeout: 15_000 });
    const transcripts = page.getByTestId('transcript');
    await transcripts.nth(CLIPS.length - 1).waitFor({ timeout: 90_000 });
    await page.waitForTimeout(1500);  // nothing extra may follow
    const texts = await transcripts.allTextContents();
    assert.equal(texts.length, CLIPS.length, `transcripts: ${JSON.stringify(texts)}`);
    texts.forEach((t, i) => assert.ok(t.trim().length > 0, `transcript ${i} is empty`));
    const latencies = await page.getByTestId('latency').allTextContents();
    assert.equal(latencies.length, CLIPS.length);
    latencies.forEach((l) => assert.match(l, /\d+\s*ms/));
    if (realModel) {
      texts.forEach((t, i) => assert.ok(wordErrorRate(CLIPS[i][1], t) <= 0.15, `"${t}" vs "${CLIPS[i][1]}"`));
    }
    fs.mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: path.join(outDir, 'transcripts.png'), fullPage: true });
    console.log(`screenshot: ${path.join(outDir, 'transcripts.png')}; latencies: ${latencies.join(' | ')}`);
    await page.getByTestId('stop').click();
    await page.getByTestId('status').filter({ hasText: 'idle' }).waitFor();
  } finally {
    await browser.close();
  }
});

test('20 connect/disconnect cycles leave no threads or memory behind', { skip, timeout: 180_000 }, async () => {
  const wav = fakeMicrophone([CLIPS[2][0]], path.join(work, 'short.wav'));
  const browser = await launch(wav);
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    const cycle = async () => {
      await page.getByTestId('start').click();
      await page.getByTestId('status').filter({ hasText: 'connected' }).waitFor({ timeout: 15_000 });
      await page.getByTestId('stop').click();
      await page.getByTestId('status').filter({ hasText: 'idle' }).waitFor({ timeout: 15_000 });
    };
    // The first sessions pay one-time costs: the DTLS certificate, plugin
    // loading, the speech-to-text decoder, malloc arenas for new threads.
    for (let i = 0; i < 3; i++) await cycle();
    await page.waitForTimeout(1000);
    const before = processStats(server.proc.pid);
    for (let i = 0; i < 20; i++) await cycle();
    await page.waitForTimeout(2000);  // teardown runs on the server's main loop
    const afterStats = processStats(server.proc.pid);
    console.log(`threads ${before.threads} -> ${afterStats.threads}; RSS ${before.rssKb} -> ${afterStats.rssKb} kB`);
    assert.ok(afterStats.threads <= before.threads * 1.05, `threads ${before.threads} -> ${afterStats.threads}`);
    assert.ok(afterStats.rssKb <= before.rssKb * 1.05, `RSS ${before.rssKb} -> ${afterStats.rssKb} kB`);
  } finally {
    await browser.close();
  }
});

test('4 concurrent sessions each get only their own transcripts', { skip, timeout: 180_000 }, async () => {
  // Browser k speaks k + 1 clips: each page must show exactly that many.
  const browsers = [];
  try {
    for (let k = 0; k < 4; k++) {
      const clips = Array.from({ length: k + 1 }, (_, i) => CLIPS[i % CLIPS.length][0]);
      browsers.push(await launch(fakeMicrophone(clips, path.join(work, `session-${k}.wav`))));
    }
    const pages = await Promise.all(browsers.map(async (b) => {
      const page = await b.context.newPage();
      await page.goto(server.url);
      await page.getByTestId('start').click();
      await page.getByTestId('status').filter({ hasText: 'connected' }).waitFor({ timeout: 30_000 });
      return page;
    }));
    await Promise.all(pages.map((page, k) => page.getByTestId('transcript').nth(k).waitFor({ timeout: 150_000 })));
    await pages[3].waitForTimeout(2000);
    for (let k = 0; k < 4; k++) {
      const texts = await pages[k].getByTestId('transcript').allTextContents();
      assert.equal(texts.length, k + 1, `session ${k}: ${JSON.stringify(texts)}`);
    }
  } finally {
    await Promise.all(browsers.map((b) => b.close()));
  }
});
