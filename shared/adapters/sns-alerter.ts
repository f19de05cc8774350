import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alerter, Page } from '../ports/alerter';

/**
 * Pages through one SNS topic. Message attributes `severity`, `cluster` and `type` let subscriptions filter.
 * Never throws: a failed publish is reported to `onError` (the logger) and the caller carries on.
 */
export class SnsAlerter implements Alerter {
  readonly #sns: SNSClient;
  readonly #topicArn: string;
  readonly #onError: (error: unknown, page: Page) => void;

  constructor(options: { client: SNSClient; topicArn: string; onError: (error: unknown, page: Page) => void }) {
    this.#sns = options.client;
    this.#topicArn = options.topicArn;
    this.#onError = options.onError;
  }

  async page(page: Page): Promise<void> {
    try {
      await this.#sns.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          Subject: page.subject.slice(0, 99),
          Message: JSON.stringify({ severity: page.severity, cluster: page.cluster, type: page.type, message: page.message, details: page.details ?? {} }),
          MessageAttributes: {
            severity: { DataType: 'String', StringValue: page.severity },
            cluster: { DataType: 'String', StringValue: page.cluster },
            type: { DataType: 'String', StringValue: page.type },
          },
        }),
      );
    } catch (error) {
      this.#onError(error, page);
    }
  }
}
