// End-to-end: the agent in the browser. Headless chromium types commands into
// a real `voicedesk up`, confirms with the Yes button, and the mail arrives at
// a real SMTP server (aiosmtpd); the calendar answer reads back an event the
// same way created; the reply is spoken on the peer connection's audio track.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CHROMIUM, binary, launch, missingFiles, repo, startServer, stopServer, writeWav } from './harness.mjs';

const SYSTEM_PYTHON = '/usr/bin/python3';
const smtpScript = path.join(repo, 'tests/tools/mail/smtp_test_server.py');
const missing = missingFiles([binary, CHROMIUM, SYSTEM_PYTHON, smtpScript]);
const skip = missing.length ? `missing: ${missing.join(', ')}` : false;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-agent-'));
const mailDir = path.join(work, 'mail');
let smtp;
let server;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitFor(predicate, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await predicate();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const receivedMails = () => fs.readdirSync(mailDir).filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(fs.readFileSync(path.join(mailDir, f), 'utf8')));

before(async () => {
  if (skip) return;
  fs.mkdirSync(mailDir);
  const smtpPort = await freePort();
  smtp = spawn(SYSTEM_PYTHON, [smtpScript, '--port', String(smtpPort), '--dir', mailDir], { stdio: 'inherit' });
  await waitFor(() => new Promise((resolve) => {
    const socket = net.connect(smtpPort, '127.0.0.1', () => { socket.end(); resolve(true); });
    socket.on('error', () => resolve(false));
  }), 'the SMTP server');
  server = await startServer({
    TZ: 'UTC',
    VOICEDESK_TIMEZONE: 'UTC',
    MAIL_HOST: '127.0.0.1',
    MAIL_PORT: String(smtpPort),
    MAIL_ENCRYPTION: 'none',
    MAIL_FROM_ADDRESS: 'assistant@voicedesk.test',
  });
});

after(async () => {
  await stopServer(server);
  if (smtp && smtp.exitCode === null) {
    await new Promise((resolve) => { smtp.once('exit', resolve); smtp.kill('SIGTERM'); });
  }
  fs.rmSync(work, { recursive: true, force: true });
});

// The spoken reply's energy as the browser received it: the inbound audio
// stream's totalAudioEnergy from the peer connection's statistics.
const RECORD_PEER_CONNECTIONS = () => {
  const Original = window.RTCPeerConnection;
  window.__peerConnections = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__peerConnections.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
};
async function receivedAudioEnergy(page) {
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

async function say(page, text) {
  const before = await page.locator('[data-role="assistant"][data-final="true"]').count();
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  const reply = page.locator('[data-role="assistant"][data-final="true"]').nth(before);
  await reply.waitFor({ timeout: 20_000 });
  return (await reply.getByTestId('assistant-text').textContent()).trim();
}

async function confirm(page) {
  const before = await page.locator('[data-role="assistant"][data-final="true"]').count();
  await page.getByRole('button', { name: 'Yes' }).click();
  const reply = page.locator('[data-role="assistant"][data-final="true"]').nth(before);
  await reply.waitFor({ timeout: 20_000 });
  return (await reply.getByTestId('assistant-text').textContent()).trim();
}

test('typed commands, confirmed with Yes, send mail and read the calendar back, spoken', { skip, timeout: 120_000 }, async () => {
  const silence = path.join(work, 'silence.wav');
  writeWav(silence, new Int16Array(48000 * 60), 48000);
  const browser = await launch(silence);
  try {
    const page = await browser.context.newPage();
    await page.addInitScript(RECORD_PEER_CONNECTIONS);
    await page.goto(server.url);
    await page.getByTestId('start').click();
    await page.getByTestId('status').filter({ hasText: 'connected' }).waitFor({ timeout: 15_000 });

    const readBack = await say(page, 'send an email to alice@example.com saying the report is ready');
    assert.match(readBack, /alice@example\.com/);
    assert.match(readBack, /the report is ready/);
    assert.equal(receivedMails().length, 0, 'nothing is sent before Yes');
    assert.equal(await confirm(page), 'Sent.');
    const mail = await waitFor(() => receivedMails().find((m) => m.body?.includes('the report is ready')), 'the mail');
    assert.deepEqual(mail.rcpt_tos, ['alice@example.com']);

    assert.match(await say(page, 'schedule a meeting called review today at 11:30 pm for 15 minutes'), /review/);
    assert.match(await confirm(page), /^Added "review"/);
    const calendar = await say(page, "what's on my calendar today");
    assert.match(calendar, /review at 23:30/);

    const energy = await waitFor(async () => { const e = await receivedAudioEnergy(page); return e > 0.01 && e; }, 'spoken reply audio');
    console.log(`spoken replies: total audio energy ${energy.toFixed(3)} at the browser`);
    const cards = await page.getByTestId('tool-call').count();
    assert.ok(cards >= 3, `tool-call cards: ${cards}`);
  } finally {
    await browser.close();
  }
});
