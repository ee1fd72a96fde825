//! Third-party processors: a signed JSON request per (request, processor); the processor's
//! confirmation is recorded separately — a call that was accepted is not a deletion that was
//! done.
//!
//! The body is signed with HMAC-SHA256 over `timestamp + "." + body` using the store's key,
//! sent as `X-DSR-Timestamp` and `X-DSR-Signature: sha256=<hex>`.

use std::time::Duration;

use anyhow::Context;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::settings::StoreSettings;

/// What is sent to a processor: the task to confirm, the request kind, the subject's identifiers.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookCall<'a> {
    pub task_id: i64,
    pub reference: &'a str,
    pub kind: &'a str,
    pub subject: &'a super::SubjectIds,
}

pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts the call; `Ok` means the processor accepted it (2xx), not that it is done.
pub async fn call(store: &StoreSettings, call: &WebhookCall<'_>) -> anyhow::Result<u16> {
    let url = store.resolve_url().map_err(anyhow::Error::msg)?;
    let key_var = store.secret_env.as_deref().expect("validated");
    let key = std::env::var(key_var).with_context(|| {
        format!(
            "store {}: environment variable {key_var} is not set",
            store.name
        )
    })?;
    let body = serde_json::to_vec(call)?;
    let timestamp = chrono::Utc::now().timestamp();
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(store.timeout_secs.max(1)))
        .build()?
        .post(url.expose())
        .header("content-type", "application/json")
        .header("x-dsr-timestamp", timestamp.to_string())
        .header("x-dsr-signature", sign(key.as_bytes(), timestamp, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "store {}: webhook call failed: {}",
                store.name,
                e.without_url()
            )
        })?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!(
            "store {}: processor answered HTTP {}",
            store.name,
            status.as_u16()
        );
    }
    Ok(status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_timestamp_and_body() {
        let a = sign(b"key", 1_700_000_000, b"{}");
        assert!(a.starts_with("sha256="));
        assert_ne!(a, sign(b"key", 1_700_000_001, b"{}"));
        assert_ne!(a, sign(b"key", 1_700_000_000, b"{ }"));
        assert_ne!(a, sign(b"other", 1_700_000_000, b"{}"));
    }
}
