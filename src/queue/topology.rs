//! Names and declarations of exchanges and queues. Declaring is idempotent, so every process
//! declares the whole topology at start.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

/// A work queue and its retry ladder.
#[derive(Debug, Clone)]
pub struct WorkQueue {
    prefix: String,
    name: &'static str,
    retry_delays_ms: Vec<u64>,
}

/// Deliveries of one message beyond which the broker itself dead-letters it (a consumer that
/// crashes on it every time cannot loop forever).
pub const DELIVERY_LIMIT: i64 = 20;

impl WorkQueue {
    pub fn new(prefix: &str, name: &'static str, retry_delays_ms: &[u64]) -> Self {
        Self {
            prefix: prefix.to_owned(),
            name,
            retry_delays_ms: retry_delays_ms.to_vec(),
        }
    }

    /// Requests to acknowledge and process (`{"request_id": 42}`).
    pub fn requests(prefix: &str, retry_delays_ms: &[u64]) -> Self {
        Self::new(prefix, "requests", retry_delays_ms)
    }

    /// Store tasks to run (`{"task_id": 7}`), one per (request, store).
    pub fn store_actions(prefix: &str, retry_delays_ms: &[u64]) -> Self {
        Self::new(prefix, "store-actions", retry_delays_ms)
    }

    /// Another work queue of the same deployment (same prefix and retry ladder).
    pub fn sibling(&self, name: &'static str) -> Self {
        Self::new(&self.prefix, name, &self.retry_delays_ms)
    }

    pub fn exchange(&self) -> String {
        self.prefix.clone()
    }
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.prefix)
    }
    /// The routing key on both exchanges.
    pub fn routing_key(&self) -> &'static str {
        self.name
    }
    pub fn queue(&self) -> String {
        format!("{}.{}", self.prefix, self.name)
    }
    pub fn retry_queue(&self, attempt: usize) -> String {
        format!("{}.{}.retry.{}", self.prefix, self.name, attempt + 1)
    }
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.{}.dlq", self.prefix, self.name)
    }
    pub fn retry_delays_ms(&self) -> &[u64] {
        &self.retry_delays_ms
    }

    /// Declares exchanges, the quorum work queue, its retry queues and its dead-letter queue.
    pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        for exchange in [self.exchange(), self.dead_letter_exchange()] {
            channel
                .exchange_declare(
                    exchange.into(),
                    ExchangeKind::Direct,
                    durable,
                    FieldTable::default(),
                )
                .await?;
        }
        let queue_opts = QueueDeclareOptions::durable();

        let mut work = FieldTable::default();
        work.insert(key("x-queue-type"), string("quorum"));
        work.insert(
            key("x-delivery-limit"),
            AMQPValue::LongLongInt(DELIVERY_LIMIT),
        );
        work.insert(
            key("x-dead-letter-exchange"),
            string(&self.dead_letter_exchange()),
        );
        work.insert(key("x-dead-letter-routing-key"), string(self.name));
        channel
            .queue_declare(self.queue().into(), queue_opts, work)
            .await?;
        channel
            .queue_bind(
                self.queue().into(),
                self.exchange().into(),
                self.name.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        let mut dlq = FieldTable::default();
        dlq.insert(key("x-queue-type"), string("quorum"));
        channel
            .queue_declare(self.dead_letter_queue().into(), queue_opts, dlq)
            .await?;
        channel
            .queue_bind(
                self.dead_letter_queue().into(),
                self.dead_letter_exchange().into(),
                self.name.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        // One queue per delay: a per-queue TTL never blocks a short delay behind a long one.
        for (attempt, delay) in self.retry_delays_ms.iter().enumerate() {
            let mut retry = FieldTable::default();
            retry.insert(key("x-message-ttl"), AMQPValue::LongLongInt(*delay as i64));
            retry.insert(key("x-dead-letter-exchange"), string(&self.exchange()));
            retry.insert(key("x-dead-letter-routing-key"), string(self.name));
            channel
                .queue_declare(self.retry_queue(attempt).into(), queue_opts, retry)
                .await?;
        }
        Ok(())
    }
}

fn key(k: &str) -> ShortString {
    k.into()
}

fn string(v: &str) -> AMQPValue {
    AMQPValue::LongString(v.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let q = WorkQueue::requests("dsr", &[1000, 5000]);
        assert_eq!(q.queue(), "dsr.requests");
        assert_eq!(q.retry_queue(0), "dsr.requests.retry.1");
        assert_eq!(q.retry_queue(1), "dsr.requests.retry.2");
        assert_eq!(q.dead_letter_queue(), "dsr.requests.dlq");
        assert_eq!(q.dead_letter_exchange(), "dsr.dlx");
    }
}
