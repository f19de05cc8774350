import { randomBytes } from 'node:crypto';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { InvalidRequestError } from '../../shared/domain/errors';
import { loadStatusPage, statusPageDocument, statusPagePolicy } from '../../shared/app/status-page';
import { errorResponder } from '../../shared/middleware/error-responder';
import { config, logger, store } from '../wiring';

/** The page refreshes itself this often from the JSON API. */
const REFRESH_MS = 2000;

const html = (body: string, nonce: string): APIGatewayProxyResultV2 => ({
  statusCode: 200,
  headers: {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': statusPagePolicy(nonce),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  },
  body,
});

/**
 * `GET /status` (the fleet) and `GET /status/{cluster}` (the fleet and one cluster): the status page, rendered once
 * here and refreshed by its own script from `GET /v1/clusters[/{cluster}]`. Same authorisation as the JSON API (IAM
 * in AWS). A refusal is the API's `{code, message}` JSON (400 `invalid_cluster`, 404 `unknown_cluster`), whoever asks.
 */
async function statusPage(request: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  const cluster = request.pathParameters?.cluster ?? null;
  if (cluster !== null && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(cluster)) throw new InvalidRequestError('invalid_cluster', 'cluster id must be letters, digits, "_", "." or "-"');
  // Where /status lives behind a stage or proxy prefix: the page's links and fetches are relative to it.
  const base = (request.rawPath ?? '/status').replace(/\/status(\/[^/]*)?\/?$/, '');
  const now = new Date();
  const shown = await loadStatusPage(store, cluster, now);
  const nonce = randomBytes(16).toString('base64');
  return html(statusPageDocument({ base, ...shown, now, pageWindowSeconds: config.pageDedupeSeconds, refreshMs: REFRESH_MS, nonce }), nonce);
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpHeaderNormalizer())
  .use(errorResponder({ logger }))
  .handler(statusPage);
