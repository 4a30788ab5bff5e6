//! [`Switchboard`]: the service every front end (HTTP API, broker, relay) calls. Each
//! operation authorizes through `domain` rules inside one write transaction on the actor that
//! owns the entity, then carries out runtime effects. Reads use MVCC snapshots and never wait
//! for writers. One file per area of SPEC §8.

mod admin;
mod auth;
mod catalog;
mod connections;
mod feeds;
mod gateway;
mod gateways;
mod grants;
mod org;
mod peering;
mod secrets;
pub mod types;

pub use gateways::parse_client_id;

use std::sync::Arc;

use actix::{Actor, ArbiterHandle, Context, Handler};
use chrono::{DateTime, Utc};
use switchboard_domain::ids::OrgId;
use switchboard_domain::tiers::TierTable;
use switchboard_domain::{Caller, ChangeSet, Refusal};
use switchboard_storage::WriteTx;

use crate::clock::Clock;
use crate::core::{ActorSettings, Core};
use crate::effects::{self, EffectSink, Issued};
use crate::entity_actors::Exec;
use crate::error::{ServiceError, ServiceResult};
use crate::registry::{Activate, Registry, exec};
use crate::store::StoreHandle;

/// The service. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Switchboard {
    core: Arc<Core>,
}

impl Switchboard {
    /// A service over `store`, starting its actors on `arbiter`.
    pub fn new(
        store: StoreHandle,
        arbiter: ArbiterHandle,
        sink: Arc<dyn EffectSink>,
        clock: Arc<dyn Clock>,
        tiers: TierTable,
        settings: ActorSettings,
    ) -> Self {
        let per_minute = std::num::NonZeroU32::new(settings.enroll_attempts_per_ip_per_minute)
            .unwrap_or(std::num::NonZeroU32::MIN);
        let core = Core {
            store,
            sink,
            clock,
            tiers,
            registry: Registry::new(arbiter),
            offers_changed: tokio::sync::Notify::new(),
            gateway: std::sync::RwLock::new(types::GatewayInfo::default()),
            enroll_limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)),
            gateway_lockout: types::GatewayLockout::default(),
            turn: std::sync::RwLock::new(None),
            settings,
        };
        Switchboard {
            core: Arc::new(core),
        }
    }

    /// Sets what connector configurations tell gateways (called once listeners are bound).
    pub fn set_gateway_info(&self, info: types::GatewayInfo) {
        let mut slot = self
            .core
            .gateway
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = info;
    }

    /// Turns on TURN credentials in `welcome` and `ice` (called once the relay is bound).
    pub fn set_turn(&self, issuer: crate::turn::TurnIssuer) {
        let mut slot = self
            .core
            .turn
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(issuer);
    }

    /// Shared state, for the timers and tests.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    fn now(&self) -> DateTime<Utc> {
        self.core.clock.now()
    }

    fn after(&self, changes: &ChangeSet) {
        effects::after_commit(self.core.sink.as_ref(), changes);
    }

    /// Runs `work` as one transaction on the actor owning `id`. `work` returns its answer and
    /// the change set decided with it; the change set commits in the same transaction, and
    /// its runtime effects follow the commit.
    async fn change<A, I, T, F>(&self, id: &I, work: F) -> ServiceResult<T>
    where
        A: Actor<Context = Context<A>> + Handler<Exec<(T, ChangeSet)>>,
        I: Activate<A>,
        T: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> ServiceResult<(T, ChangeSet)> + Clone + Send + 'static,
    {
        let (value, changes) = exec(&self.core, id, move |tx| {
            let (value, changes) = work(tx)?;
            commit(tx, &changes)?;
            Ok((value, changes))
        })
        .await?;
        self.after(&changes);
        Ok(value)
    }
}

/// A change set holding one successful audit event.
fn audited(
    caller: &Caller,
    orgs: Vec<OrgId>,
    action: &str,
    target: &str,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> ChangeSet {
    let mut changes = ChangeSet::default();
    changes.audit(caller, orgs, action, target, details, now);
    changes
}

/// Writes a rule's change set inside the transaction (shorthand for the closures).
fn commit(tx: &mut WriteTx<'_>, changes: &ChangeSet) -> ServiceResult<Issued> {
    effects::apply_in_tx(tx, changes)
}

/// `Option` → `NotFound` of a kind.
fn found<T>(value: Option<T>, kind: switchboard_domain::EntityKind) -> ServiceResult<T> {
    value.ok_or(ServiceError::Refused(Refusal::NotFound { kind }))
}
