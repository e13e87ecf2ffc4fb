// Every mail, calendar and search tool through `voicedesk mcp` with the
// official TypeScript SDK client, against real servers on loopback: aiosmtpd
// receives the mail, Dovecot serves the inbox, the calendar is the local .ics
// file, and a local SearXNG-format endpoint answers searches. Bad arguments
// must come back as tool errors naming the field.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort, killOnExit, makeWorkDir, missingFiles, repo, startHttpServer, stopProcess } from './server.mjs';
import { fetchWithTokens, readSecretKey } from './token.mjs';

const SYSTEM_PYTHON = '/usr/bin/python3';
const imapServerBinary = process.env.VOICEDESK_IMAP_TEST_SERVER
  || path.join(repo, 'build/tests/tools/imap_test_server');
const smtpServerScript = path.join(repo, 'tests/tools/mail/smtp_test_server.py');
const REQUEST_TIMEOUT_MS = 30_000;

function missingServers() {
  const missing = missingFiles([imapServerBinary, SYSTEM_PYTHON, '/usr/sbin/dovecot']);
  if (missing) return missing;
  const probe = spawn(SYSTEM_PYTHON, ['-c', 'import aiosmtpd']);
  return new Promise((resolve) => probe.on('exit', (code) => resolve(code === 0 ? false : 'python3-aiosmtpd is not installed (scripts/deps installs it)')));
}
const skip = await missingServers();

// Spawns a helper server and resolves with the first line it prints.
function startHelper(command, args) {
  const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const forget = killOnExit(proc.pid);
  proc.on('exit', forget);
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: proc.stdout });
    lines.once('line', (line) => resolve({ proc, line }));
    proc.once('exit', (code) => reject(new Error(`${command} exited (${code}) before it was ready`)));
  });
}

async function waitFor(predicate, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = predicate();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// The mails aiosmtpd received: the envelope and the message decoded by
// Python's email package, and the raw message as received.
function receivedMails(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => ({
    ...JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')),
    raw: fs.readFileSync(path.join(dir, f.replace(/\.json$/, '.eml')), 'utf8'),
  }));
}

// A SearXNG-format endpoint; the query "nothing" finds nothing.
function startSearchServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const query = url.searchParams.get('q') ?? '';
    const results = query === 'nothing' ? [] : [1, 2, 3, 4, 5, 6, 7].map((i) => ({
      title: `Result ${i} for ${query}`,
      url: `https://example.org/${i}`,
      content: `Snippet <b>${i}</b> &amp; more`,
    }));
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ query, results, unresponsive_engines: [] }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function call(client, name, args) {
  return client.callTool({ name, arguments: args }, undefined, { timeout: REQUEST_TIMEOUT_MS });
}

function expectOk(result, what) {
  assert.notEqual(result.isError, true, `${what} failed: ${JSON.stringify(result.content)}`);
  assert.ok(result.structuredContent, `${what}: no structuredContent`);
  return result.structuredContent;
}

function expectToolError(result, pattern, what) {
  assert.equal(result.isError, true, `${what}: expected an error, got ${JSON.stringify(result)}`);
  const text = result.content.map((c) => c.text ?? '').join(' ');
  assert.match(text, pattern, `${what}: ${text}`);
}

describe('workspace tools through the TypeScript SDK', { skip, timeout: 180_000 }, () => {
  let workDir;
  let smtp;
  let imap;
  let search;
  let server;
  let client;
  const mailDir = () => path.join(workDir, 'smtp');

  before(async () => {
    workDir = makeWorkDir();
    fs.mkdirSync(mailDir());
    const smtpPort = await freePort();
    smtp = spawn(SYSTEM_PYTHON, [smtpServerScript, '--port', String(smtpPort), '--dir', mailDir()], { stdio: ['ignore', 'inherit', 'inherit'] });
    smtp.on('exit', killOnExit(smtp.pid));
    imap = await startHelper(imapServerBinary, []);
    const mailbox = JSON.parse(imap.line);
    search = await startSearchServer();
    server = await startHttpServer(workDir, [
      '--set', 'MAIL_HOST=127.0.0.1',
      '--set', `MAIL_PORT=${smtpPort}`,
      '--set', 'MAIL_ENCRYPTION=none',
      '--set', 'MAIL_FROM_ADDRESS=assistant@voicedesk.test',
      '--set', 'MAIL_FROM_NAME=Voicedesk Assistant',
      '--set', `VOICEDESK_OUTBOX_PATH=${path.join(workDir, 'outbox.sqlite3')}`,
      '--set', `VOICEDESK_IMAP_URL=${mailbox.url}`,
      '--set', `VOICEDESK_IMAP_USERNAME=${mailbox.username}`,
      '--set', `VOICEDESK_IMAP_PASSWORD=${mailbox.password}`,
      '--set', `VOICEDESK_CALENDAR_FILE=${path.join(workDir, 'calendar.ics')}`,
      '--set', 'VOICEDESK_TIMEZONE=Europe/Berlin',
      '--set', `VOICEDESK_SEARCH_URL=http://127.0.0.1:${search.address().port}/search`,
      '--set', 'VOICEDESK_SEARCH_PROVIDER=searxng',
    ]);
    client = new Client({ name: 'voicedesk-tests', version: '1.0.0' });
    const key = readSecretKey(server.secretFile);
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { fetch: fetchWithTokens(key) }));
  });

  after(async () => {
    await client?.close();
    await server?.stop();
    search?.close();
    if (imap) {
      imap.proc.stdin.end();
      await stopProcess(imap.proc);
    }
    if (smtp) await stopProcess(smtp);
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('lists every tool with AI-RTC-Agent\'s names and schemas', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    for (const name of ['send_email', 'list_inbox', 'read_email', 'reply_to_email', 'draft_reply',
      'create_calendar_event', 'load_calendar_events', 'duckduckgo_search', 'web_search']) {
      assert.ok(names.includes(name), `missing ${name} in ${names.join(', ')}`);
    }
    const send = tools.find((t) => t.name === 'send_email');
    assert.deepEqual([...send.inputSchema.required].sort(), ['body', 'subject', 'to_email']);
    const create = tools.find((t) => t.name === 'create_calendar_event');
    for (const field of ['title', 'date', 'time', 'duration_minutes', 'description', 'attendees']) {
      assert.ok(field in create.inputSchema.properties, `create_calendar_event lacks ${field}`);
    }
  });

  test('send_email delivers a UTF-8 mail to the SMTP server', async () => {
    const sent = expectOk(await call(client, 'send_email', {
      to_email: 'alice@example.com', subject: 'Grüße aus Köln ☕', body: 'Der Bericht ist fertig — schöne Grüße.',
    }), 'send_email');
    assert.match(sent.status, /^(sent|queued)$/);
    const mail = await waitFor(() => receivedMails(mailDir()).find((m) => m.subject === 'Grüße aus Köln ☕'), 'the mail');
    assert.equal(mail.body.trim(), 'Der Bericht ist fertig — schöne Grüße.');
    assert.deepEqual(mail.rcpt_tos, ['alice@example.com']);
    assert.match(mail.from, /assistant@voicedesk\.test/);
    assert.deepEqual(mail.defects, []);
    assert.equal(mail.message_id, sent.message_id);
  });

  test('send_email rejects bad arguments, naming the field', async () => {
    expectToolError(await call(client, 'send_email', { to_email: 'not an address', subject: 's', body: 'b' }), /to_email/, 'bad address');
    expectToolError(await call(client, 'send_email', { to_email: 'a@example.com', subject: 'x\r\nBcc: evil@example.com', body: 'b' }), /subject/, 'header injection');
    expectToolError(await call(client, 'send_email', { to_email: 'a@example.com', body: 'b' }), /subject/, 'missing subject');
  });

  test('list_inbox and read_email read the IMAP mailbox', async () => {
    const listed = expectOk(await call(client, 'list_inbox', { limit: 3 }), 'list_inbox');
    assert.equal(listed.emails.length, 3);
    for (const email of listed.emails) {
      for (const field of ['id', 'from', 'subject', 'date', 'snippet']) assert.ok(field in email, `list_inbox item lacks ${field}`);
    }
    const all = expectOk(await call(client, 'list_inbox', {}), 'list_inbox default');
    assert.ok(all.emails.length >= 3 && all.emails.length <= 10);
    const read = expectOk(await call(client, 'read_email', { email_id: listed.emails[0].id }), 'read_email');
    assert.equal(read.subject, listed.emails[0].subject);
    assert.ok(read.body.length > 0);
    expectToolError(await call(client, 'list_inbox', { limit: 51 }), /limit/, 'limit over 50');
    expectToolError(await call(client, 'read_email', { email_id: '999999' }), /999999|no (such )?(mail|email|message)/i, 'unknown id');
  });

  test('reply_to_email threads the reply and sends it through the outbox', async () => {
    const { emails } = expectOk(await call(client, 'list_inbox', { limit: 10 }), 'list_inbox');
    const original = expectOk(await call(client, 'read_email', { email_id: emails[0].id }), 'read_email');
    const reply = expectOk(await call(client, 'reply_to_email', { email_id: emails[0].id, body: 'Thanks, noted.' }), 'reply_to_email');
    assert.match(reply.status, /^(sent|queued)$/);
    const mail = await waitFor(() => receivedMails(mailDir()).find((m) => m.body?.includes('Thanks, noted.')), 'the reply');
    assert.match(mail.subject, /^Re: /);
    assert.ok(!/^Re: Re:/i.test(mail.subject), mail.subject);
    assert.ok(mail.raw.includes(`In-Reply-To: ${original.message_id}`), mail.raw);
    assert.match(mail.raw, new RegExp(`References:[^]*${original.message_id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expectToolError(await call(client, 'reply_to_email', { email_id: emails[0].id }), /body/, 'missing body');
  });

  test('draft_reply drafts without sending', async () => {
    const draft = expectOk(await call(client, 'draft_reply', { original_subject: 'Budget', original_body: 'Can you review the budget by Friday?', tone: 'friendly' }), 'draft_reply');
    assert.equal(draft.subject, 'Re: Budget');
    assert.equal(draft.generator, 'template');
    assert.ok(draft.body.length > 20);
    expectToolError(await call(client, 'draft_reply', { original_subject: 'x', original_body: 'y', tone: 'angry' }), /tone/, 'unknown tone');
  });

  test('create_calendar_event falls back to the .ics file and load_calendar_events reads it back', async () => {
    const created = expectOk(await call(client, 'create_calendar_event', {
      title: 'Project review', date: '2026-12-03', time: '14:30', duration_minutes: 45,
      description: 'Quarterly numbers', attendees: ['bob@example.org'],
    }), 'create_calendar_event');
    assert.equal(created.provider, 'ics_fallback');
    assert.ok(created.fallback_reason);
    assert.match(created.ics, /BEGIN:VEVENT/);
    assert.match(created.ics, /mailto:bob@example.org/i);
    const loaded = expectOk(await call(client, 'load_calendar_events', { scope: '2026-12-03' }), 'load_calendar_events');
    const event = loaded.events.find((e) => e.title === 'Project review');
    assert.ok(event, JSON.stringify(loaded.events));
    assert.match(event.start, /^2026-12-03T14:30/);
    const extra = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:x1@test\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261203T080000Z\r\nDTEND:20261203T090000Z\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    const merged = expectOk(await call(client, 'load_calendar_events', { scope: '2026-12-03', ics_content: extra }), 'with ics_content');
    assert.deepEqual(merged.events.map((e) => e.title), ['Standup', 'Project review']);
  });

  test('calendar tools reject bad dates, times and durations, naming the field', async () => {
    const base = { title: 'x', date: '2026-12-03', time: '10:00', duration_minutes: 30 };
    expectToolError(await call(client, 'create_calendar_event', { ...base, date: '2026-02-30' }), /date/, 'February 30');
    expectToolError(await call(client, 'create_calendar_event', { ...base, time: '25:00' }), /time/, 'hour 25');
    expectToolError(await call(client, 'create_calendar_event', { ...base, duration_minutes: 0 }), /duration_minutes/, 'zero minutes');
    expectToolError(await call(client, 'create_calendar_event', { ...base, attendees: ['nobody'] }), /attendees/, 'bad attendee');
    expectToolError(await call(client, 'load_calendar_events', { scope: 'someday' }), /scope/, 'bad scope');
  });

  test('duckduckgo_search and web_search return results from the configured endpoint', async () => {
    const found = expectOk(await call(client, 'duckduckgo_search', { query: 'opus codec', max_results: 3 }), 'duckduckgo_search');
    assert.equal(found.results.length, 3);
    assert.deepEqual(Object.keys(found.results[0]).sort(), ['snippet', 'title', 'url']);
    assert.equal(found.results[0].snippet, 'Snippet 1 & more');
    const alias = expectOk(await call(client, 'web_search', { query: 'opus codec' }), 'web_search');
    assert.equal(alias.results.length, 5);
    const none = expectOk(await call(client, 'web_search', { query: 'nothing' }), 'no results');
    assert.deepEqual(none.results, []);
    expectToolError(await call(client, 'duckduckgo_search', { query: 'x', max_results: 0 }), /max_results/, 'zero results wanted');
    expectToolError(await call(client, 'duckduckgo_search', { query: '' }), /query/, 'empty query');
  });
});
