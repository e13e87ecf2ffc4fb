// End of speech -> transcript shown, measured through the whole product:
// headless chromium speaks the shared clips into the web client, `voicedesk up`
// endpoints and transcribes them, and the page records when each transcript
// reaches the DOM. Prints one JSON object (medians and every utterance).
//
// Usage: node measure-latency.mjs --label NAME [--rounds N] [--gap SECONDS]
//                                 [--clips a.wav,b.wav] [--max-tokens auto]
// The server's configuration comes from the environment (VOICEDESK_WHISPER_MODEL,
// VOICEDESK_STT_*, ...). With --max-tokens auto, each clip gets its own server
// with VOICEDESK_STT_MAX_TOKENS set to what a real model decodes for its text.
//
// Per utterance (milliseconds; the server and the browser share this machine's clock):
//   endpoint  last speech audio received by the server -> endpointer decision
//   queue     waiting for the speech-to-text worker (0 unless utterances pile up)
//   stt       transcription
//   delivery  the rest: handing the result to the session thread, the DataChannel,
//             the page's parsing and React's render, up to the transcript's insertion
//             into the DOM (server part + browser part)
//   total     endpoint + queue + stt + delivery: last speech audio -> shown
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM, CLIPS, JFK, binary, clipPath, fakeMicrophone, launch, missingFiles, startServer, stopServer } from './harness.mjs';

const { values: args } = parseArgs({
  options: {
    label: { type: 'string', default: 'run' },
    rounds: { type: 'string', default: '3' },
    gap: { type: 'string', default: '3' },
    clips: { type: 'string', default: [...CLIPS, JFK].map(([f]) => f).join(',') },
    'max-tokens': { type: 'string', default: '' },
  },
});
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

// Runs in the page before the app: every DataChannel message and every
// transcript inserted into the DOM, with the time (ms since the Unix epoch).
function instrument() {
  const record = { messages: [], shown: [] };
  window.__latency = record;
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...channelArgs) {
    const channel = create.apply(this, channelArgs);
    channel.addEventListener('message', (event) => record.messages.push({ at: Date.now(), data: event.data }));
    return channel;
  };
  new MutationObserver((mutations) => {
    const at = Date.now();
    for (const mutation of mutations) {
      for (const node of mutation.addedNodes) {
        if (!(node instanceof Element)) continue;
        const found = node.matches('[data-testid="transcript"]') ? [node] : [...node.querySelectorAll('[data-testid="transcript"]')];
        for (const element of found) record.shown.push({ at, text: element.textContent });
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

// One server and one browser session speaking `clips`; returns an utterance record per transcript.
async function measure(clips, env, work) {
  const server = await startServer(env);
  const wav = fakeMicrophone(clips, path.join(work, 'microphone.wav'), gapSeconds);
  const browser = await launch(wav);
  try {
    await browser.context.addInitScript(instrument);
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.getByTestId('start').click();
    await page.getByTestId('status').filter({ hasText: 'connected' }).waitFor({ timeout: 15_000 });
    // Chrome plays the file from when the microphone opened; allow the audio,
    // then as long again for the last transcription.
    const audioSeconds = 1 + clips.reduce((s, c) => s + fs.statSync(clipPath(c)).size / 32000 + gapSeconds, 0);
    await page.getByTestId('transcript').nth(clips.length - 1).waitFor({ timeout: (2 * audioSeconds + 60) * 1000 });
    await page.waitForTimeout(500);
    const record = await page.evaluate(() => window.__latency);
    await page.getByTestId('stop').click();
    const events = record.messages
      .map((m) => ({ at: m.at, event: JSON.parse(m.data) }))
      .filter((m) => m.event.type === 'transcript');
    if (events.length !== clips.length || record.shown.length !== clips.length) {
      throw new Error(`expected ${clips.length} transcripts, got ${events.length} events and ${record.shown.length} shown`);
    }
    return events.map(({ at, event }, i) => {
      const { endpoint, queue, stt, total } = event.latency_ms;
      const serverDelivery = total - endpoint - queue - stt;
      const shownAt = record.shown[i].at;
      const delivery = serverDelivery + (shownAt - event.sent_at_ms);
      return {
        clip: clips[i],
        text: event.text,
        endpoint,
        queue,
        stt,
        delivery: round1(delivery),
        delivery_server: round1(serverDelivery),
        delivery_to_page: round1(at - event.sent_at_ms),
        total: round1(endpoint + queue + stt + delivery),
      };
    });
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

const columns = ['endpoint', 'queue', 'stt', 'delivery', 'total'];
const medians = Object.fromEntries(columns.map((c) => [c, round1(median(utterances.map((u) => u[c])))]));
medians.stt_plus_delivery = round1(median(utterances.map((u) => u.queue + u.stt + u.delivery)));
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
