/**
 * Sends log lines to a job, as a RunPod worker would (what test-runpod-simulation.py did):
 *   npm run runpod:send -- <job_id> "[INFO] Test log 1" "[SUCCESS] done"
 *   npm run runpod:send -- <job_id> --batch "line 1" "line 2"   # one request, {messages: [...]}
 *   npm run runpod:send -- <job_id>                              # a demo run ending with [SUMMARY]
 * Environment (CLI only): BACKEND_LOG_URL, CRAWLER_WEBHOOK_API_KEY (as for runpod:simulate).
 */
import { sendLines } from './fake-runpod.js';

const args = process.argv.slice(2);
const jobId = args.shift();
if (!jobId) {
  console.error('usage: npm run runpod:send -- <job_id> [--batch] [line ...]');
  process.exit(64);
}
const batch = args[0] === '--batch' ? Boolean(args.shift()) : false;
const url = process.env.BACKEND_LOG_URL ?? 'http://127.0.0.1:3000/api/crawler/log';
const key = process.env.CRAWLER_WEBHOOK_API_KEY ?? 'insecure-dev-webhook-key';
const lines = args.length
  ? args
  : [
      '[INFO] Starting domain generation...',
      '[INFO] Progress: 50% - Generated domain 1/2',
      '[INFO] Progress: 100% - Generated domain 2/2',
      '[SUMMARY] {"status": "success", "domains_generated": {"success": 2, "total": 2}, "domains": ["demo-1.com", "demo-2.com"]}',
      '[SUCCESS] Domain generation completed!',
    ];

let failed = false;
if (batch) {
  const status = await sendLines(url, key, jobId, lines);
  console.log(`${status} ${lines.length} line(s)`);
  failed = status !== 200;
} else {
  for (const line of lines) {
    const status = await sendLines(url, key, jobId, [line]);
    console.log(`${status} ${line}`);
    failed ||= status !== 200;
  }
}
process.exit(failed ? 1 : 0);
