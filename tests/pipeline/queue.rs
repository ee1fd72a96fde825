//! The RabbitMQ topology on the real broker: retries with backoff, then the dead-letter queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dsr_worker::queue::consumer::{self, Failure};
use dsr_worker::queue::publisher::Publisher;
use dsr_worker::queue::topology::WorkQueue;
use lapin::options::BasicGetOptions;
use lapin::types::AMQPValue;
use tokio_util::sync::CancellationToken;

use crate::helpers::token;

const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

async fn dead_letter(
    channel: &lapin::Channel,
    queue: &WorkQueue,
    timeout: Duration,
) -> Option<lapin::message::BasicGetMessage> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(m) = channel
            .basic_get(
                queue.dead_letter_queue().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            return Some(m);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn delete(channel: &lapin::Channel, queue: &WorkQueue) {
    let mut names = vec![queue.queue(), queue.dead_letter_queue()];
    names.extend((0..queue.retry_delays_ms().len()).map(|i| queue.retry_queue(i)));
    for name in names {
        let _ = channel.queue_delete(name.into(), Default::default()).await;
    }
}

fn attempt_header(message: &lapin::message::BasicGetMessage) -> Option<i64> {
    message
        .delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get("x-attempt").cloned())
        .and_then(|v| match v {
            AMQPValue::LongLongInt(n) => Some(n),
            _ => None,
        })
}

/// A handler that always fails is called once plus once per retry delay, then the message is
/// in the dead-letter queue with its attempt count and last error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_message_is_retried_with_delays_then_dead_lettered() {
    let connection = dsr_worker::queue::connect(BROKER).await.unwrap();
    let queue = WorkQueue::new(&format!("dsr-test-{}", token()), "requests", &[200, 400]);
    let publisher = Publisher::open(&connection).await.unwrap();
    queue.declare(publisher.channel()).await.unwrap();

    let calls = Arc::new(AtomicUsize::new(0));
    let shutdown = CancellationToken::new();
    let consumer = {
        let calls = calls.clone();
        let connection = dsr_worker::queue::connect(BROKER).await.unwrap();
        let queue = queue.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            consumer::consume(&connection, &queue, 4, shutdown, move |_payload| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<(), _>(Failure::Retry(anyhow::anyhow!("store is down")))
                }
            })
            .await
        })
    };
    let started = Instant::now();
    publisher
        .publish(
            &queue.exchange(),
            queue.routing_key(),
            br#"{"request_id": 1}"#,
            Default::default(),
        )
        .await
        .unwrap();

    let dead = dead_letter(publisher.channel(), &queue, Duration::from_secs(20))
        .await
        .expect("message reaches the dead-letter queue");
    let elapsed = started.elapsed();
    assert_eq!(dead.delivery.data, br#"{"request_id": 1}"#);
    assert_eq!(attempt_header(&dead), Some(3), "first try + two retries");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "no hot loop: exactly three calls"
    );
    // The delays were honoured (a hot loop would finish in a few milliseconds).
    assert!(
        elapsed >= Duration::from_millis(600),
        "retries waited: {elapsed:?}"
    );

    shutdown.cancel();
    consumer.await.unwrap().unwrap();
    delete(publisher.channel(), &queue).await;
}

/// A message the handler calls poison skips the retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_message_goes_straight_to_the_dead_letter_queue() {
    let connection = dsr_worker::queue::connect(BROKER).await.unwrap();
    let queue = WorkQueue::new(&format!("dsr-test-{}", token()), "requests", &[5_000]);
    let publisher = Publisher::open(&connection).await.unwrap();
    queue.declare(publisher.channel()).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let shutdown = CancellationToken::new();
    let consumer = {
        let calls = calls.clone();
        let connection = dsr_worker::queue::connect(BROKER).await.unwrap();
        let queue = queue.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            consumer::consume(&connection, &queue, 4, shutdown, move |_payload| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<(), _>(Failure::Poison(anyhow::anyhow!("malformed")))
                }
            })
            .await
        })
    };
    publisher
        .publish(
            &queue.exchange(),
            queue.routing_key(),
            b"not json",
            Default::default(),
        )
        .await
        .unwrap();
    let dead = dead_letter(publisher.channel(), &queue, Duration::from_secs(4))
        .await
        .expect("dead-lettered well before the 5 s retry delay");
    assert_eq!(attempt_header(&dead), Some(1));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    shutdown.cancel();
    consumer.await.unwrap().unwrap();
    delete(publisher.channel(), &queue).await;
}
