//! Shutdown signalling: SIGINT or SIGTERM flips a watch channel every task listens to.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// A handle tasks await to learn that shutdown has begun.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Resolves once shutdown has begun.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|down| *down).await;
    }
}

/// Starts listening for SIGINT and SIGTERM; returns the handle and a trigger for tests.
pub fn install() -> std::io::Result<(Shutdown, watch::Sender<bool>)> {
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let trigger = tx.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down");
        let _ = trigger.send(true);
    });
    Ok((Shutdown(rx), tx))
}
