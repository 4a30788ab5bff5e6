//! The live actors, by entity id. An actor is started on the actor arbiter the first time
//! its entity is addressed and removes itself when it stops, so memory follows the active
//! set, not the store.

use std::sync::Arc;

use actix::prelude::*;
use dashmap::DashMap;
use switchboard_domain::ids::{AgreementId, ConnectionId, OrgId};
use switchboard_storage::WriteTx;
use tokio::sync::oneshot;

use crate::core::Core;
use crate::entity_actors::{AgreementActor, ConnectionActor, Exec, OrgActor};
use crate::error::{ServiceError, ServiceResult};

/// Live actor addresses.
pub struct Registry {
    /// The arbiter actors run on (actors must start on an actix thread, never a tokio worker).
    arbiter: ArbiterHandle,
    /// Organization actors.
    pub orgs: DashMap<OrgId, Addr<OrgActor>>,
    /// Agreement actors.
    pub agreements: DashMap<AgreementId, Addr<AgreementActor>>,
    /// Connection actors.
    pub connections: DashMap<ConnectionId, Addr<ConnectionActor>>,
}

impl Registry {
    /// An empty registry starting actors on `arbiter`.
    pub fn new(arbiter: ArbiterHandle) -> Self {
        Registry {
            arbiter,
            orgs: DashMap::new(),
            agreements: DashMap::new(),
            connections: DashMap::new(),
        }
    }

    /// How many actors are live, for metrics and tests.
    pub fn live(&self) -> usize {
        self.orgs.len() + self.agreements.len() + self.connections.len()
    }
}

/// Finds or starts the actor of an entity.
pub trait Activate<A: Actor> {
    /// The actor's address.
    fn activate(core: &Arc<Core>, id: &Self) -> Addr<A>;
}

macro_rules! activate {
    ($id:ty, $actor:ty, $map:ident) => {
        impl Activate<$actor> for $id {
            fn activate(core: &Arc<Core>, id: &Self) -> Addr<$actor> {
                if let Some(addr) = core.registry.$map.get(id).filter(|a| a.connected()) {
                    return addr.clone();
                }
                core.registry
                    .$map
                    .entry(id.clone())
                    .and_modify(|addr| {
                        if !addr.connected() {
                            let (c, i) = (core.clone(), id.clone());
                            *addr = <$actor>::start_in_arbiter(&core.registry.arbiter, move |_| {
                                <$actor>::new(i, c)
                            });
                        }
                    })
                    .or_insert_with(|| {
                        let (c, i) = (core.clone(), id.clone());
                        <$actor>::start_in_arbiter(&core.registry.arbiter, move |_| {
                            <$actor>::new(i, c)
                        })
                    })
                    .clone()
            }
        }
    };
}

activate!(OrgId, OrgActor, orgs);
activate!(AgreementId, AgreementActor, agreements);
activate!(ConnectionId, ConnectionActor, connections);

/// Runs `f` as one transaction on the actor owning `id`. A full mailbox is refused at once
/// (503); if the actor stopped between lookup and delivery (idle passivation), a fresh one is
/// started and the work is sent once more.
pub async fn exec<A, I, T, F>(core: &Arc<Core>, id: &I, f: F) -> ServiceResult<T>
where
    A: Actor<Context = Context<A>> + Handler<Exec<T>>,
    I: Activate<A>,
    T: Send + 'static,
    F: FnOnce(&mut WriteTx<'_>) -> ServiceResult<T> + Clone + Send + 'static,
{
    let kind = std::any::type_name::<A>()
        .rsplit("::")
        .next()
        .unwrap_or("actor");
    for _ in 0..2 {
        let addr = I::activate(core, id);
        let (reply, answer) = oneshot::channel();
        // Messages queued or running, by actor kind: the mailbox depth as operators see it.
        let depth = metrics::gauge!("switchboard_actor_mailbox_depth", "kind" => kind);
        match addr.try_send(Exec {
            work: Box::new(f.clone()),
            reply,
        }) {
            Ok(()) => {
                depth.increment(1.0);
                let result = answer.await.unwrap_or(Err(ServiceError::Unavailable(
                    "the actor stopped before answering",
                )));
                depth.decrement(1.0);
                return result;
            }
            Err(SendError::Full(_)) => {
                metrics::counter!("switchboard_mailbox_full_total").increment(1);
                return Err(ServiceError::Unavailable(
                    "too many requests for this entity; retry shortly",
                ));
            }
            Err(SendError::Closed(_)) => continue,
        }
    }
    Err(ServiceError::Unavailable("actor restarting; retry"))
}
