//! `run`, `intake`, `process` and `console`: the worker's long-running stages, until Ctrl-C /
//! SIGTERM. [`pipeline::run`] and [`pipeline::wiring::run_console`] connect and migrate themselves (the
//! tests start them the same way).

use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::pipeline;
use crate::pipeline::Stages;

/// `run` (every stage), `intake` or `process`.
pub async fn run(settings: Settings, stages: Stages) -> anyhow::Result<()> {
    pipeline::run(settings, stages, shutdown_on_signal()).await
}

/// `console`: only the staff review console and its digest.
pub async fn console(settings: Settings) -> anyhow::Result<()> {
    pipeline::wiring::run_console(settings, shutdown_on_signal()).await
}

/// A token cancelled on Ctrl-C or SIGTERM.
fn shutdown_on_signal() -> CancellationToken {
    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        ctrl_c.await.ok();
        on_signal.cancel();
    });
    shutdown
}
