// End-to-end: Debian's chromium (driven by playwright-core) with a fake
// microphone talks to a real `voicedesk up` over WebRTC; transcripts must
// appear on the page. Run by scripts/test after the C++ build.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  CHROMIUM, CLIPS, binary, clipPath, fakeMicrophone, launch, missingFiles, processStats, repo, startServer,
  stopServer, wordErrorRate,
} from './harness.mjs';

const outDir = process.env.E2E_OUTPUT_DIR || path.join(repo, 'build/e2e');
const realModel = process.env.VOICEDESK_TEST_MODEL || '';
// Without a real Whisper model, the pocketsphinx fallback a fresh install uses.
// (The random-weight micro model is no shortcut here: its output always runs
// to the token limit and through every fallback temperature.)
const model = realModel;

const missing = missingFiles([binary, CHROMIUM, ...(model ? [model] : []), ...CLIPS.map(([f]) => clipPath(f))]);
const skip = missing.length ? `missing: ${missing.join(', ')}` : false;

// --- tests ------------------------------------------------------------------

let server;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-audio-'));

before(async () => { if (!skip) server = await startServer({ VOICEDESK_WHISPER_MODEL: model }); });
after(async () => {
  await stopServer(server);
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
    // An earlier test's session frees its threads and memory a few seconds
    // after it ends: start from a server whose thread count has settled.
    let before = processStats(server.proc.pid);
    for (let steady = 0, waited = 0; steady < 5000 && waited < 30_000; waited += 500) {
      await page.waitForTimeout(500);
      const now = processStats(server.proc.pid);
      steady = now.threads === before.threads ? steady + 500 : 0;
      before = now;
    }
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
