import { createServer, type IncomingMessage, type Server } from 'node:http';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';

export interface ReceivedPage {
  subject: string | undefined;
  message: string;
  attributes: Record<string, string>;
  at: string;
}

export interface PageReceiver {
  url: string;
  pages: ReceivedPage[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * An HTTP subscriber of the pages topic, as an on-call webhook would be: confirms the subscription by fetching its
 * SubscribeURL (SNS's handshake) and hands each notification to `onPage`. Listens on 127.0.0.1 only.
 */
export async function startPageReceiver(options: { topicArn: string; sns: SNSClient; onPage?: (page: ReceivedPage) => void }): Promise<PageReceiver> {
  const pages: ReceivedPage[] = [];
  const server: Server = createServer(async (req, res) => {
    try {
      const body = JSON.parse(await readBody(req)) as Record<string, any>;
      const type = req.headers['x-amz-sns-message-type'] ?? body.Type;
      if (type === 'SubscriptionConfirmation' && typeof body.SubscribeURL === 'string') {
        const url = new URL(body.SubscribeURL);
        // Only ever follow a confirmation link back to the loopback endpoint that sent it.
        if (url.hostname === '127.0.0.1' || url.hostname === '[::1]') await fetch(url);
      } else if (type === 'Notification') {
        const attributes: Record<string, string> = {};
        for (const [k, v] of Object.entries((body.MessageAttributes ?? {}) as Record<string, { Value: string }>)) attributes[k] = v.Value;
        const page = { subject: body.Subject, message: body.Message, attributes, at: new Date().toISOString() };
        pages.push(page);
        options.onPage?.(page);
      }
      res.writeHead(200).end();
    } catch {
      res.writeHead(400).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/pages`;
  await options.sns.send(new SubscribeCommand({ TopicArn: options.topicArn, Protocol: 'http', Endpoint: url }));
  return { url, pages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
