// End of speech -> transcript shown, or -> the spoken reply's first audio,
// measured through the whole product: headless chromium speaks the shared clips
// into the web client, `voicedesk up` endpoints and transcribes them (and, with
// --until reply, its agent answers aloud), and the page records when each
// transcript reaches the DOM and when reply audio starts playing. Prints one
// JSON object (medians and every utterance).
//
// Usage: node measure-latency.mjs --label NAME [--rounds N] [--gap SECONDS]
//                                 [--clips a.wav,b.wav] [--max-tokens auto]
//                                 [--until transcript|reply]
// The server's configuration comes from the environment (VOICEDESK_WHISPER_MODEL,
// VOICEDESK_STT_*, ...). With --max-tokens auto, each clip gets its own server
// with VOICEDESK_STT_MAX_TOKENS set to what a real model decodes for its text.
//
// Per utterance (milliseconds; the server and the browser share this machine's clock):
//   endpoint  last speech audio received by the server -> endpointer decision
//   queue     waiting for the speech-to-text worker (0 unless utterances pile up)
//   stt       transcription (after the endpoint: a transcription started during the
//             trailing silence, VOICEDESK_SPECULATIVE_STT_MS, counts only what was left)
//   stt_total the whole transcription, before the endpoint included
// --until transcript (the default):
//   delivery  the rest: handing the result to the session thread, the DataChannel,
//             the page's parsing and React's render, up to the transcript's insertion
//             into the DOM (server part + browser part)
//   total     endpoint + queue + stt + delivery: last speech audio -> shown
// --until reply (utterances whose transcript is empty get no reply and are left out):
//   handoff   transcript sent -> the agent's reply handed to speech (the session
//             thread, the agent's queue and events; everything not in agent)
//   agent     the agent's turn: intent parser or language model, tools included
//   tts       speak() -> first synthesized audio sent on the track
//   network   that audio sent -> the page plays its first non-silent 10 ms frame
//             (Opus encoding, RTP on loopback, the browser's jitter buffer, decoding)
//   total     last speech audio -> first reply audio at the browser (the sum)
//   after_endpoint  endpoint decided -> first reply audio (total - endpoint)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  CHROMIUM, CLIPS, JFK, RECORD_REPLY_AUDIO, RECORD_SERVER_EVENTS, binary, clipPath, fakeMicrophone, launch,
  missingFiles, serverEvents, startServer, stopServer,
} from './harness.mjs';

const { values: args } = parseArgs({
  options: {
    label: { type: 'string', default: 'run' },
    rounds: { type: 'string', default: '3' },
    gap: { type: 'string', default: '3' },
    clips: { type: 'string', default: [...CLIPS, JFK].map(([f]) => f).join(',') },
    'max-tokens': { type: 'string', default: '' },
    until: { type: 'string', default: 'transcript' },
  },
});
if (!['transcript', 'reply'].includes(args.until)) {
  console.error('measure-latency: --until is transcript or reply');
  process.exit(2);
}
const rounds = Number(args.rounds);
const gapSeconds = Number(args.gap);
const clipNames = args.clips.split(',').filter(Boolean);
const references = new Map([...CLIPS, JFK]);

// What a real Whisper model decodes for a clip: its text tokens (about 1.3 per
// English word with the GPT-2 vocabulary), a timestamp at each end, and the
// step that yields <|endoftext|>.
const realisticTokens = (clip) => Math.round(references.get(clip).split(/\s+/).length * 1.3) + 3;

const missing = missingFiles([binary, CHROMIUM, ...clipNames.map(clipPath)]);
if (missing.length) {
  console.error(`measure-latency: missing ${missing.join(', ')}`);
  process.exit(2);
}
if (args['max-tokens'] === 'auto' && clipNames.some((c) => !references.has(c))) {
  console.error('measure-latency: --max-tokens auto needs clips with a known text');
  process.exit(2);
}

// Runs in the page before the app: every transcript inserted into the DOM,
// with the time (ms since the Unix epoch).
function recordShownTranscripts() {
  const shown = [];
  window.__shownTranscripts = shown;
  new MutationObserver((mutations) => {
    const at = Date.now();
    for (const mutation of mutations) {
      for (const node of mutation.addedNodes) {
        if (!(node instanceof Element)) continue;
        const found = node.matches('[data-testid="transcript"]') ? [node] : [...node.querySelectorAll('[data-testid="transcript"]')];
        for (const element of found) shown.push({ at, text: element.textContent });
      }
    }
  }).observe(document, { childList: true, subtree: true });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const round1 = (x) => Math.round(x * 10) / 10;


// End of speech -> transcript shown, per transcript.
function transcriptLatencies(messages, shown, clips) {
  const events = messages.filter((m) => m.event.type === 'transcript');
  if (events.length !== clips.length || shown.length !== clips.length) {
    throw new Error(`expected ${clips.length} transcripts, got ${events.length} events and ${shown.length} shown`);
  }
  return events.map(({ at, event }, i) => {
    const { endpoint, queue, stt, stt_total: sttTotal = stt, total } = event.latency_ms;
    const serverDelivery = total - endpoint - queue - stt;
    const shownAt = shown[i].at;
    const delivery = serverDelivery + (shownAt - event.sent_at_ms);
    return {
      clip: clips[i],
      text: event.text,
      endpoint,
      queue,
      stt,
      stt_total: sttTotal,
      delivery: round1(delivery),
      delivery_server: round1(serverDelivery),
      delivery_to_page: round1(at - event.sent_at_ms),
      total: round1(endpoint + queue + stt + delivery),
    };
  });
}

// End of speech -> first reply audio, per transcript with text: the agent's
// final event and the speech that follow it, and the first non-silent audio
// the page plays once that speech was sent.
function replyLatencies(messages, replyAudio, clips) {
  const transcripts = messages.filter((m) => m.event.type === 'transcript');
  if (transcripts.length !== clips.length) {
    throw new Error(`expected ${clips.length} transcripts, got ${transcripts.length}`);
  }
  const after = (message, wanted) => messages.slice(messages.indexOf(message) + 1).find(({ event }) => wanted(event));
  return transcripts.flatMap((transcript, i) => {
    const { text, latency_ms: latency, sent_at_ms: transcriptSentAt } = transcript.event;
    if (!text) return [];
    const reply = after(transcript, (e) => e.type === 'agent' && e.final);
    const speech = reply && after(reply, (e) => e.type === 'speech' && e.state === 'started');
    if (!speech) throw new Error(`no spoken reply to "${text}"`);
    const { since_speak_ms: tts, sent_at_ms: audioSentAt } = speech.event;
    // The audio leaves the server with the started event; 20 ms of slack for
    // clock granularity, far from the previous reply's end.
    const heardAt = replyAudio.nonSilentAt.find((at) => at >= audioSentAt - 20);
    if (heardAt === undefined) throw new Error(`the reply to "${text}" was never heard`);
    const speechEndAt = transcriptSentAt - latency.total;
    const agent = reply.event.timings_ms.agent;
    const total = heardAt - speechEndAt;
    return [{
      clip: clips[i],
      text,
      reply: reply.event.text,
      endpoint: latency.endpoint,
      queue: latency.queue,
      stt: latency.stt,
      stt_total: latency.stt_total ?? latency.stt,
      handoff: round1(latency.total - latency.endpoint - latency.queue - latency.stt
        + (audioSentAt - tts - transcriptSentAt - agent)),
      agent: round1(agent),
      tts: round1(tts),
      network: round1(heardAt - audioSentAt),
      total: round1(total),
      after_endpoint: round1(total - latency.endpoint),
    }];
  });
}

const COLUMNS = {
  transcript: ['endpoint', 'queue', 'stt', 'stt_total', 'delivery', 'total'],
  reply: ['endpoint', 'queue', 'stt', 'stt_total', 'handoff', 'agent', 'tts', 'network', 'total', 'after_endpoint'],
};

// Whether every transcript with text has had its reply spoken to the end (in the page).
function repliesSpoken(count) {
  const events = window.__serverEvents.map((m) => JSON.parse(m.data));
  const transcripts = events.filter((e) => e.type === 'transcript');
  const spoken = events.filter((e) => e.type === 'speech' && e.state === 'ended').length;
  return transcripts.length >= count && spoken >= transcripts.filter((e) => e.text).length;
}

// One server and one browser session speaking `clips`; returns an utterance record per transcript.
async function measure(clips, env, work) {
  const server = await startServer(env);
  const wav = fakeMicrophone(clips, path.join(work, 'microphone.wav'), gapSeconds);
  const browser = await launch(wav);
  try {
    await browser.context.addInitScript(RECORD_SERVER_EVENTS);
    await browser.context.addInitScript(recordShownTranscripts);
    if (args.until === 'reply') await browser.context.addInitScript(RECORD_REPLY_AUDIO);
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.getByTestId('start').click();
    await page.getByTestId('status').filter({ hasText: 'connected' }).waitFor({ timeout: 15_000 });
    // Chrome plays the file from when the microphone opened; allow the audio,
    // then as long again for the last transcription.
    const audioSeconds = 1 + clips.reduce((s, c) => s + fs.statSync(clipPath(c)).size / 32000 + gapSeconds, 0);
    const timeout = (2 * audioSeconds + 60) * 1000;
    await page.getByTestId('transcript').nth(clips.length - 1).waitFor({ timeout });
    if (args.until === 'reply') await page.waitForFunction(repliesSpoken, clips.length, { timeout });
    await page.waitForTimeout(500);
    const messages = await serverEvents(page);
    const shown = await page.evaluate(() => window.__shownTranscripts);
    const replyAudio = await page.evaluate(() => window.__replyAudio);
    await page.getByTestId('stop').click();
    if (args.until === 'transcript') return transcriptLatencies(messages, shown, clips);
    if (replyAudio.error) throw new Error(`watching the reply audio: ${replyAudio.error}`);
    return replyLatencies(messages, replyAudio, clips);
  } finally {
    await browser.close();
    await stopServer(server);
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-latency-'));
const utterances = [];
try {
  if (args['max-tokens'] === 'auto') {
    for (const clip of clipNames) {
      const maxTokens = realisticTokens(clip);
      const measured = await measure(Array(rounds).fill(clip), { VOICEDESK_STT_MAX_TOKENS: String(maxTokens) }, work);
      utterances.push(...measured.map((u) => ({ ...u, max_tokens: maxTokens })));
    }
  } else {
    const clips = Array.from({ length: rounds }, () => clipNames).flat();
    utterances.push(...(await measure(clips, {}, work)));
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

const columns = COLUMNS[args.until];
const medians = Object.fromEntries(columns.map((c) => [c, round1(median(utterances.map((u) => u[c])))]));
if (args.until === 'transcript') {
  medians.stt_plus_delivery = round1(median(utterances.map((u) => u.queue + u.stt + u.delivery)));
}
const perClip = Object.fromEntries(
  clipNames.map((clip) => {
    const mine = utterances.filter((u) => u.clip === clip);
    return [clip, Object.fromEntries(columns.map((c) => [c, round1(median(mine.map((u) => u[c])))]))];
  }),
);
const settings = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('VOICEDESK_') && k !== 'VOICEDESK_BINARY'));
console.log(
  JSON.stringify(
    {
      label: args.label,
      until: args.until,
      settings: { ...settings, max_tokens: args['max-tokens'] || 'model default' },
      rounds,
      gap_seconds: gapSeconds,
      load_average: os.loadavg().map(round1),
      medians,
      per_clip: perClip,
      utterances,
    },
    null,
    2,
  ),
);
