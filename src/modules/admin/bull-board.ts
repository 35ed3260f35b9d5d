import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { getQueueToken } from '@nestjs/bull';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Queue } from 'bull';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { JwtStrategy } from '../auth/jwt.strategy.js';
import { ADMIN_QUEUES, BULL_BOARD_COOKIE, BULL_BOARD_PATH } from './admin.constants.js';

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/**
 * Mounts Bull Board at /admin/queues (outside /api) for admins only. Nest's guards do not
 * run for routes registered on Fastify directly, so a hook of this encapsulated plugin
 * authenticates with the app's JwtStrategy: a bearer header, `?access_token=` (a browser
 * opening the page), or the HttpOnly cookie that visit sets, so the board's own XHR calls
 * are authenticated too.
 */
export async function mountBullBoard(app: NestFastifyApplication): Promise<void> {
  const queues = ADMIN_QUEUES.map((name) => app.get<Queue>(getQueueToken(name), { strict: false }));
  const jwt = app.get(JwtStrategy, { strict: false });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: queues.map((queue) => new BullAdapter(queue)), serverAdapter });

  const deny = (reply: FastifyReply, statusCode: 401 | 403, message: string) =>
    reply
      .code(statusCode)
      .header('content-type', 'application/json; charset=utf-8')
      .send({ statusCode, error: statusCode === 401 ? 'Unauthorized' : 'Forbidden', message });

  await app.register(async (instance: FastifyInstance) => {
    instance.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const fromQuery = (request.query as Record<string, unknown> | undefined)?.access_token;
      let token: string | undefined;
      if (!request.headers.authorization) {
        token =
          typeof fromQuery === 'string' && fromQuery
            ? fromQuery
            : cookie(request.headers.cookie, BULL_BOARD_COOKIE);
        if (token) request.headers.authorization = `Bearer ${token}`;
      }
      const { user, reason } = await jwt.authenticate(request);
      if (!user) return deny(reply, 401, reason ?? 'Invalid token');
      if (user.role !== 'admin') return deny(reply, 403, 'This action requires the admin role');
      if (typeof fromQuery === 'string' && fromQuery === token) {
        void reply.header(
          'set-cookie',
          `${BULL_BOARD_COOKIE}=${encodeURIComponent(token)}; Path=${BULL_BOARD_PATH}; HttpOnly; SameSite=Strict${
            request.protocol === 'https' ? '; Secure' : ''
          }`,
        );
      }
    });
    await instance.register(serverAdapter.registerPlugin() as never, { prefix: BULL_BOARD_PATH });
  });
}
