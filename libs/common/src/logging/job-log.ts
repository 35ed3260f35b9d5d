/**
 * A log entry about a job: the message plus `job_id` and `user_id` as pino fields, so one
 * search (`grep <job id>`, or `job_id:"…"` in a log store) follows a job from the API request
 * through the queue, every provider or RunPod call and its end, on any process.
 * Use as `this.logger.log(jobLog({ jobId, userId }, 'dispatched'))` — PinoNestLogger (src/logger.options.ts) merges the object's fields into the line.
 */
export interface JobLogRef {
  jobId: string;
  userId?: string | null;
}

export function jobLog(
  job: JobLogRef,
  msg: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    msg: `job ${job.jobId}: ${msg}`,
    job_id: job.jobId,
    user_id: job.userId ?? null,
    ...extra,
  };
}
