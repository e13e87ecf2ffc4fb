// The MCP conformance suite (@modelcontextprotocol/conformance, active suite)
// against `voicedesk mcp --conformance-fixtures`: every scenario must pass.
// Per-scenario checks.json files land in $E2E_OUTPUT_DIR/conformance (or a
// temporary directory), with the suite's full output in conformance.log.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeWorkDir, missingFiles, node22, startHttpServer } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const conformancePackage = path.join(here, 'node_modules/@modelcontextprotocol/conformance');
const SUITE_TIMEOUT_MS = 240_000;

const skip = missingFiles([node22, conformancePackage]);

function conformanceCli() {
  const { bin } = JSON.parse(fs.readFileSync(path.join(conformancePackage, 'package.json'), 'utf8'));
  return path.join(conformancePackage, typeof bin === 'string' ? bin : bin.conformance);
}

// Runs the CLI to completion; output goes to logFile and is returned.
function runSuite(url, resultsDir, logFile) {
  return new Promise((resolve, reject) => {
    const args = [conformanceCli(), 'server', '--url', url, '--suite', 'active', '--output-dir', resultsDir];
    const child = spawn(node22, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), SUITE_TIMEOUT_MS - 10_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      fs.writeFileSync(logFile, output);
      resolve({ code, signal, output });
    });
  });
}

// scenario -> checks, from <resultsDir>/server-<scenario>-<ISO timestamp>/checks.json.
function readResults(resultsDir) {
  const results = new Map();
  for (const entry of fs.readdirSync(resultsDir)) {
    const match = entry.match(/^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/);
    const checksFile = path.join(resultsDir, entry, 'checks.json');
    if (match && fs.existsSync(checksFile)) results.set(match[1], JSON.parse(fs.readFileSync(checksFile, 'utf8')));
  }
  return results;
}

function describeCheck(check) {
  const detail = check.errorMessage ? `\n        ${check.errorMessage}` : '';
  return `      ${check.status} ${check.name}: ${check.description}${detail}`;
}

let workDir;
let server;
before(async () => {
  if (skip) return;
  workDir = makeWorkDir();
  server = await startHttpServer(workDir, ['--conformance-fixtures', '--auth', 'off']);
}, { timeout: 90_000 });
after(async () => {
  await server?.stop();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test('every scenario of the active conformance suite passes', { skip, timeout: SUITE_TIMEOUT_MS }, async () => {
  // Kept after the run (a temporary directory without E2E_OUTPUT_DIR) for inspection.
  const outDir = process.env.E2E_OUTPUT_DIR
    ? path.join(process.env.E2E_OUTPUT_DIR, 'conformance')
    : fs.mkdtempSync(path.join(os.tmpdir(), 'vd-mcp-conformance-'));
  fs.rmSync(outDir, { recursive: true, force: true });
  const resultsDir = path.join(outDir, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const logFile = path.join(outDir, 'conformance.log');

  const { code, signal, output } = await runSuite(server.url, resultsDir, logFile);
  const expected = Number(output.match(/Running active suite \((\d+) scenarios\)/)?.[1] ?? NaN);
  const results = readResults(resultsDir);

  // A scenario that throws writes no checks.json; the summary still names it.
  const summaryFailed = [...output.matchAll(/^✗ (\S+): (\d+) passed, (\d+) failed$/gm)].map((m) => m[1]);
  const failing = new Map();
  for (const [scenario, checks] of results) {
    const bad = checks.filter((c) => c.status === 'FAILURE');
    if (bad.length) failing.set(scenario, bad.map(describeCheck));
  }
  for (const scenario of summaryFailed) {
    if (!failing.has(scenario)) failing.set(scenario, ['      (no checks.json: the scenario did not run to the end; see the log)']);
  }
  const warnings = [...results].flatMap(([scenario, checks]) =>
    checks.filter((c) => c.status === 'WARNING').map((c) => `  ${scenario}:\n${describeCheck(c)}`));

  const passed = [...results.keys()].filter((s) => !failing.has(s));
  console.log(`conformance: ${passed.length}/${expected} scenarios passed; results in ${outDir}`);
  if (warnings.length) console.log(`warnings:\n${warnings.join('\n')}`);
  const report = [...failing].map(([scenario, lines]) => `  ${scenario}\n${lines.join('\n')}`).join('\n');

  assert.ok(Number.isInteger(expected) && expected > 0, `could not read the scenario count; log: ${logFile}\n${output.slice(-4000)}`);
  assert.equal(failing.size, 0, `failing scenarios:\n${report}\nlog: ${logFile}`);
  assert.equal(results.size, expected, `${results.size} of ${expected} scenarios wrote results; log: ${logFile}`);
  assert.equal(code, 0, `conformance exited ${code ?? signal}; log: ${logFile}\n${output.slice(-4000)}`);
});
