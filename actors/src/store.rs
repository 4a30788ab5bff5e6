//! The store as the actors use it: every transaction runs on tokio's blocking pool (redb
//! commits fsync), and every commit's latency is recorded as a metric.

use std::sync::Arc;
use std::time::Instant;

use switchboard_storage::{ReadTx, Store, WriteTx};

use crate::error::{ServiceError, ServiceResult};

/// A cheap, shareable handle to the store.
#[derive(Clone)]
pub struct StoreHandle(Arc<Store>);

impl StoreHandle {
    /// Wraps an open store.
    pub fn new(store: Arc<Store>) -> Self {
        StoreHandle(store)
    }

    /// The store itself, for start-up and shutdown code that is already off the async threads.
    pub fn store(&self) -> &Arc<Store> {
        &self.0
    }

    /// Runs `f` in one write transaction off the async threads; commits if it returns `Ok`.
    pub async fn write<T, F>(&self, f: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> ServiceResult<T> + Send + 'static,
    {
        let store = self.0.clone();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || store.write(f))
            .await
            .map_err(|_| ServiceError::Unavailable("a store task failed"))?;
        metrics::histogram!("switchboard_store_commit_seconds")
            .record(started.elapsed().as_secs_f64());
        result
    }

    /// Runs `f` on a read snapshot off the async threads.
    pub async fn read<T, F>(&self, f: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTx) -> ServiceResult<T> + Send + 'static,
    {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let tx = store.read()?;
            f(&tx)
        })
        .await
        .map_err(|_| ServiceError::Unavailable("a store task failed"))?
    }
}
