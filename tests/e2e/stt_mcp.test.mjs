// `voicedesk up --stt mcp`: the gateway sends each utterance to the transcribe
// tool of a separate `voicedesk mcp` process (the original's split of the two
// services), authenticating every request with a fresh token from the secret
// both processes share. The transcripts must reach the page as in-process ones do.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  CHROMIUM, CLIPS, binary, clipPath, fakeMicrophone, launch, missingFiles, startServer, stopServer,
} from './harness.mjs';

const missing = missingFiles([binary, CHROMIUM, ...CLIPS.map(([f]) => clipPath(f))]);
const skip = missing.length ? `missing: ${missing.join(', ')}` : false;

let mcp;
let up;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vd-e2e-stt-mcp-'));

before(async () => {
  if (skip) return;
  mcp = await startServer({}, 'mcp', '/readyz');
  up = await startServer({ VOICEDESK_STT: 'mcp', VOICEDESK_MCP_URL: `${mcp.url}/mcp` });
});
after(async () => {
  await stopServer(up);
  await stopServer(mcp);
  fs.rmSync(work, { recursive: true, force: true });
});

test('transcripts come from the MCP transcribe tool of another process', { skip, timeout: 120_000 }, async () => {
  const clips = CLIPS.slice(0, 2);
  const wav = fakeMicrophone(clips.map(([f]) => f), path.join(work, 'clips.wav'));
  const browser = await launch(wav);
  try {
    const page = await browser.context.newPage();
    await page.goto(up.url);
    await page.getByTestId('start').click();
    await page.getByTestId('status').filter({ hasText: 'connected' }).waitFor({ timeout: 15_000 });
    const transcripts = page.getByTestId('transcript');
    await transcripts.nth(clips.length - 1).waitFor({ timeout: 90_000 });
    const texts = await transcripts.allTextContents();
    assert.equal(texts.length, clips.length, `transcripts: ${JSON.stringify(texts)}`);
    texts.forEach((t, i) => assert.ok(t.trim().length > 0, `transcript ${i} is empty`));
    await page.getByTestId('stop').click();
  } finally {
    await browser.close();
  }
});

test('a gateway holding the wrong secret is refused and says so', { skip, timeout: 120_000 }, async () => {
  const forger = await startServer({
    VOICEDESK_STT: 'mcp', VOICEDESK_MCP_URL: `${mcp.url}/mcp`, VOICEDESK_AUTH_SECRET: '0'.repeat(64),
  });
  const wav = fakeMicrophone([CLIPS[0][0]], path.join(work, 'one.wav'));
  const browser = await launch(wav);
  try {
    const page = await browser.context.newPage();
    await page.goto(forger.url);
    await page.getByTestId('start').click();
    const alert = page.getByRole('alert').filter({ hasText: '401' });
    await alert.first().waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('transcript').count(), 0);
  } finally {
    await browser.close();
    await stopServer(forger);
  }
});
