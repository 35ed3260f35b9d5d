import 'reflect-metadata';
import {
  HttpException,
  HttpStatus,
  ValidationPipe,
  type ValidationPipeOptions,
} from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { AppValidationPipe } from '@app/common';
import { MAX_LINE_LENGTH } from '../crawler.constants.js';
import { CrawlerLogDto } from './crawler.dto.js';

// The options app.setup.ts gives the global pipe.
const OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  errorHttpStatusCode: HttpStatus.UNPROCESSABLE_ENTITY,
};
const classValidator = new ValidationPipe(OPTIONS);
const withFastPath = new AppValidationPipe(OPTIONS);
const META = { type: 'body', metatype: CrawlerLogDto } as const;

type Outcome =
  { accepted: Record<string, unknown>; dto: boolean } | { status: number; body: unknown };
async function outcome(pipe: ValidationPipe, body: unknown): Promise<Outcome> {
  try {
    const value = (await pipe.transform(body, META)) as object;
    return { accepted: { ...value }, dto: value instanceof CrawlerLogDto };
  } catch (error) {
    if (!(error instanceof HttpException)) throw error;
    return { status: error.getStatus(), body: error.getResponse() };
  }
}

const MISSING = Symbol('missing');
const emoji = '\u{1F600}'; // one character to class-validator, two UTF-16 units
const JOB_IDS = [
  MISSING,
  '',
  'a',
  '3f1c0000-0000-4000-8000-000000000001',
  'x'.repeat(100),
  'x'.repeat(101),
  1,
  null,
  {},
  [],
  '\uFE0F',
  'é',
  emoji.repeat(60),
];
const MESSAGES = [
  MISSING,
  '',
  '[INFO] Progress: 40%',
  'x'.repeat(MAX_LINE_LENGTH),
  'x'.repeat(MAX_LINE_LENGTH + 1),
  emoji.repeat(MAX_LINE_LENGTH / 2 + 1),
  5,
  null,
  [],
  {},
];
const BATCHES = [
  MISSING,
  [],
  ['a'],
  ['a', 5],
  Array(500).fill('x'),
  Array(501).fill('x'),
  'x',
  null,
  [null],
  ['x'.repeat(MAX_LINE_LENGTH + 1)],
  [emoji.repeat(MAX_LINE_LENGTH / 2 + 1)],
];
const EXTRAS: Array<Record<string, unknown>> = [{}, { extra: 1 }, { constructor: 'x' }];

function body(jobId: unknown, message: unknown, messages: unknown, extra: object) {
  const b: Record<string, unknown> = { ...extra };
  if (jobId !== MISSING) b.job_id = jobId;
  if (message !== MISSING) b.message = message;
  if (messages !== MISSING) b.messages = messages;
  return b;
}

describe('CrawlerLogDto fast path', () => {
  it('answers every combination of fields exactly as class-validator does (accepts the same bodies, same 422 list)', async () => {
    let compared = 0;
    for (const jobId of JOB_IDS)
      for (const message of MESSAGES)
        for (const messages of BATCHES)
          for (const extra of EXTRAS) {
            // JSON.parse output, as the webhook receives it.
            const b = JSON.parse(JSON.stringify(body(jobId, message, messages, extra))) as unknown;
            expect(await outcome(withFastPath, b), JSON.stringify(b).slice(0, 200)).toEqual(
              await outcome(classValidator, b),
            );
            compared++;
          }
    expect(compared).toBe(JOB_IDS.length * MESSAGES.length * BATCHES.length * EXTRAS.length);
  });

  it('answers bodies that are not objects exactly as class-validator does', async () => {
    for (const b of [null, 'a string', 5, true, [], [{ job_id: 'a', message: 'm' }]])
      expect(await outcome(withFastPath, b)).toEqual(await outcome(classValidator, b));
  });

  it('takes the fast path for the bodies RunPod sends, and only for valid ones', () => {
    const jobId = '3f1c0000-0000-4000-8000-000000000001';
    const one = CrawlerLogDto.acceptValid({ job_id: jobId, message: '[INFO] Starting' });
    expect(one).toBeInstanceOf(CrawlerLogDto);
    expect({ ...one }).toEqual({ job_id: jobId, message: '[INFO] Starting' });
    expect(CrawlerLogDto.acceptValid({ job_id: jobId, messages: ['a', 'b'] })).toBeInstanceOf(
      CrawlerLogDto,
    );
    for (const bad of [
      { job_id: jobId },
      { job_id: jobId, message: 'm', messages: ['m'] },
      { job_id: jobId, message: 'm', role: 'admin' },
      { job_id: '', message: 'm' },
    ])
      expect(CrawlerLogDto.acceptValid(bad)).toBeUndefined();
  });
});
