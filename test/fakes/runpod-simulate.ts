/**
 * A local RunPod stand-in (pod mode) for trying the whole flow by hand:
 *   npm run runpod:simulate            # listens on :8001, the default RUNPOD_URL
 * When the backend dispatches a keyword to POST /process, it posts a realistic run of log lines
 * back to the webhook, then answers {"status":"success","domains":[...]}.
 * Environment (CLI only): RUNPOD_SIMULATE_PORT (8001), BACKEND_LOG_URL
 * (http://127.0.0.1:3000/api/crawler/log), CRAWLER_WEBHOOK_API_KEY (the development default),
 * RUNPOD_SIMULATE_LINE_DELAY_MS (400).
 */
import { FakeRunpod } from './fake-runpod.js';

const port = Number(process.env.RUNPOD_SIMULATE_PORT ?? 8001);
const fake = new FakeRunpod({
  webhookUrl: process.env.BACKEND_LOG_URL ?? 'http://127.0.0.1:3000/api/crawler/log',
  webhookApiKey: process.env.CRAWLER_WEBHOOK_API_KEY ?? 'insecure-dev-webhook-key',
  playRun: true,
  answerWhenDone: true,
  lineDelayMs: Number(process.env.RUNPOD_SIMULATE_LINE_DELAY_MS ?? 400),
});

const url = await fake.start(port, '127.0.0.1');
console.log(
  `fake RunPod (pod mode) on ${url}: POST /process; posting logs to ${fake.options.webhookUrl}`,
);
const seen = new Set<string>();
setInterval(() => {
  for (const request of fake.jobRequests) {
    const key = `${request.body.job_id}:${request.body.data}`;
    if (seen.has(key)) continue;
    seen.add(key);
    console.log(
      `dispatch: job ${request.body.job_id} keyword "${request.body.data}" x${request.body.num_domains}`,
    );
  }
}, 200).unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void fake.close().then(() => process.exit(0)));
}
