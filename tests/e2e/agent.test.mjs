// End-to-end: the agent in the browser. Headless chromium types commands into
// a real `voicedesk up`, confirms with the Yes button, and the mail arrives at
// a real SMTP server (aiosmtpd); the calendar answer reads back an event the
// same way created; the reply is spoken on the peer connection's audio track.
// By voice: without a Whisper model (pocketsphinx), a spoken command reaches the
// agent and gets a spoken reply; with VOICEDESK_TEST_MODEL naming a real Whisper
// model, a spoken email command confirmed with Yes sends the mail.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  CHROMIUM, RECORD_REPLY_AUDIO, RECORD_SERVER_EVENTS, binary, clipPath, fakeMicrophone, freePort, launch, missingFiles,
  receivedAudioEnergy, repo, serverEvents, startServer, stopServer, waitFor, writeWav,
} from './harness.mjs';

const SYSTEM_PYTHON = '/usr/bin/python3';
const ESPEAK = '/usr/bin/espeak-ng';
const smtpScript = path.join(repo, 'tests/tools/mail/smtp_test_server.py');
const COMMAND_CLIP = 'calendar-friday.wav';
const missing = missingFiles([binary, CHROMIUM, SYSTEM_PYTHON, smtpScript, clipPath(COMMAND_CLIP)]);
const skip = missing.length ? `missing: ${missing.join(', ')}` : false;
const whisperModel = process.env.VOICEDESK_TEST_MODEL || '';
const whisperMissing = missingFiles([ESPEAK, ...(whisperModel ? [whisperModel] : [])]);
const skipWhisper = skip
  || (!whisperModel && 'set VOICEDESK_TEST_MODEL to a real ggml Whisper model to run the voice flow with Whisper')
  || (whisperMissing.length ? `missing: ${whisperMissing.join(', ')}` : false);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-agent-'));
const mailDir = path.join(work, 'mail');
let smtpPort;
let smtp;
let server;

const receivedMails = () => fs.readdirSync(mailDir).filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(fs.readFileSync(path.join(mailDir, f), 'utf8')));

// `voicedesk up` with the agent's mail (the test SMTP server) and calendar, in
// UTC; `env` adds to it (the speech-to-text model).
const startAgentServer = (env = {}) => startServer({
  TZ: 'UTC',
  VOICEDESK_TIMEZONE: 'UTC',
  MAIL_HOST: '127.0.0.1',
  MAIL_PORT: String(smtpPort),
  MAIL_ENCRYPTION: 'none',
  MAIL_FROM_ADDRESS: 'assistant@voicedesk.test',
  ...env,
});

before(async () => {
  if (skip) return;
  fs.mkdirSync(mailDir);
  smtpPort = await freePort();
  smtp = spawn(SYSTEM_PYTHON, [smtpScript, '--port', String(smtpPort), '--dir', mailDir], { stdio: 'inherit' });
  await waitFor(() => new Promise((resolve) => {
    const socket = net.connect(smtpPort, '127.0.0.1', () => { socket.end(); resolve(true); });
    socket.on('error', () => resolve(false));
  }), 'the SMTP server');
  // No Whisper model: pocketsphinx, what a fresh install transcribes with.
  server = await startAgentServer({ VOICEDESK_WHISPER_MODEL: '' });
});

after(async () => {
  await stopServer(server);
  if (smtp && smtp.exitCode === null) {
    await new Promise((resolve) => { smtp.once('exit', resolve); smtp.kill('SIGTERM'); });
  }
  fs.rmSync(work, { recursive: true, force: true });
});

// A connected page on `url` whose microphone plays `wav`, recording the
// server's events and the reply audio it receives.
async function connect(url, wav) {
  const browser = await launch(wav);
  const page = await browser.context.newPage();
  await page.addInitScript(RECORD_SERVER_EVENTS);
  await page.addInitScript(RECORD_REPLY_AUDIO);
  await page.goto(url);
  await page.getByTestId('start').click();
  await page.getByTestId('status').filter({ hasText: 'connected' }).waitFor({ timeout: 15_000 });
  return { browser, page };
}

// The spoken reply reached the browser: audio energy on the inbound stream
// and non-silent frames played after `sinceMs` (Date.now()).
async function replyAudioArrived(page, sinceMs) {
  const energy = await waitFor(async () => { const e = await receivedAudioEnergy(page); return e > 0.01 && e; }, 'spoken reply audio');
  const frames = await waitFor(async () => {
    const { nonSilentAt, error } = await page.evaluate(() => window.__replyAudio);
    if (error) throw new Error(`watching the reply audio: ${error}`);
    return nonSilentAt.filter((at) => at >= sinceMs).length;
  }, 'non-silent reply audio frames');
  console.log(`spoken replies: total audio energy ${energy.toFixed(3)}, ${frames} non-silent 10 ms frames at the browser`);
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

// The mail command's read-back, Yes, and the mail at the SMTP server.
async function confirmMail(page, readBack, body) {
  assert.match(readBack, /alice@example\.com/);
  assert.match(readBack, new RegExp(body));
  const sent = () => receivedMails().find((m) => m.body?.includes(body));
  assert.equal(sent(), undefined, 'nothing is sent before Yes');
  assert.equal(await confirm(page), 'Sent.');
  const mail = await waitFor(sent, 'the mail');
  assert.deepEqual(mail.rcpt_tos, ['alice@example.com']);
}

test('typed commands, confirmed with Yes, send mail and read the calendar back, spoken', { skip, timeout: 120_000 }, async () => {
  const silence = path.join(work, 'silence.wav');
  writeWav(silence, new Int16Array(48000 * 60), 48000);
  const { browser, page } = await connect(server.url, silence);
  try {
    const startedAt = Date.now();
    const body = 'the report is ready';
    await confirmMail(page, await say(page, `send an email to alice@example.com saying ${body}`), body);

    assert.match(await say(page, 'schedule a meeting called review today at 11:30 pm for 15 minutes'), /review/);
    assert.match(await confirm(page), /^Added "review"/);
    const calendar = await say(page, "what's on my calendar today");
    assert.match(calendar, /review at 23:30/);

    await replyAudioArrived(page, startedAt);
    const cards = await page.getByTestId('tool-call').count();
    assert.ok(cards >= 3, `tool-call cards: ${cards}`);
  } finally {
    await browser.close();
  }
});

test('a spoken command reaches the agent and is answered aloud without a Whisper model', { skip, timeout: 120_000 }, async () => {
  const wav = fakeMicrophone([COMMAND_CLIP], path.join(work, 'command.wav'), 8);
  const { browser, page } = await connect(server.url, wav);
  try {
    // pocketsphinx may mishear the command: any text gets an answer.
    const next = async (from, wanted, what) => waitFor(async () => {
      const events = (await serverEvents(page)).map((m) => m.event);
      const index = events.findIndex((e, i) => i > from && wanted(e));
      return index >= 0 && { index, event: events[index] };
    }, what, 60_000);
    const transcript = await next(-1, (e) => e.type === 'transcript' && e.text, 'a transcript of the spoken command');
    const heard = transcript.event.text;
    const reply = await next(transcript.index, (e) => e.type === 'agent' && e.final, `the agent's answer to "${heard}"`);
    assert.ok(reply.event.text, `the answer to "${heard}" has text`);
    const speech = await next(reply.index, (e) => e.type === 'speech' && e.state === 'started', 'the spoken reply');
    console.log(`heard "${heard}", answered "${reply.event.text}" (agent ${Math.round(reply.event.timings_ms.agent)} ms)`);
    await replyAudioArrived(page, speech.event.sent_at_ms - 20);
    await page.locator('[data-role="assistant"][data-final="true"]').getByTestId('assistant-text')
      .filter({ hasText: reply.event.text.trim() }).first().waitFor({ timeout: 5_000 });
  } finally {
    await browser.close();
  }
});

test('a spoken email command, confirmed with Yes, sends the mail (Whisper)', { skip: skipWhisper, timeout: 180_000 }, async () => {
  const contacts = path.join(work, 'contacts.txt');
  fs.writeFileSync(contacts, 'Alice <alice@example.com>\n');
  const whisperServer = await startAgentServer({ VOICEDESK_WHISPER_MODEL: whisperModel, VOICEDESK_CONTACTS_FILE: contacts });
  const body = 'the budget is approved';
  const spoken = path.join(work, 'send-email-spoken.wav');
  execFileSync(ESPEAK, ['-w', spoken, '-v', 'en-us', `send an email to alice saying ${body}`]);
  // espeak-ng writes 22050 Hz mono; the fake microphone resamples it to 48 kHz.
  const wav = fakeMicrophone([spoken], path.join(work, 'send-email-microphone.wav'), 3);
  let browser;
  try {
    let page;
    ({ browser, page } = await connect(whisperServer.url, wav));
    const readBack = page.locator('[data-role="assistant"][data-final="true"]').first();
    await readBack.waitFor({ timeout: 90_000 });
    await confirmMail(page, (await readBack.getByTestId('assistant-text').textContent()).trim(), body);
  } finally {
    await browser?.close();
    await stopServer(whisperServer);
  }
});
