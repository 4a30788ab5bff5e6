//! The three actor kinds. Each owns the ordering of changes to its entity: a message runs its
//! write transaction to completion before the next starts (`AtomicResponse`), mailboxes are
//! bounded, and an actor idle for [`ActorSettings::effective_idle`] stops and leaves the
//! registry. The write transaction is the consistency boundary: a rule reads fresh state and
//! its whole change set (a revocation cascade included) commits atomically, or not at all.
//!
//! [`ActorSettings::effective_idle`]: crate::core::ActorSettings::effective_idle

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use switchboard_domain::ids::{AgreementId, ConnectionId, OrgId};
use switchboard_storage::WriteTx;
use tokio::sync::oneshot;

use crate::core::Core;
use crate::error::{ServiceError, ServiceResult};
use crate::signaling::Signaling;
use crate::window::StrictWindow;
use switchboard_domain::Refusal;

/// The body of one write transaction.
pub type Work<T> = Box<dyn FnOnce(&mut WriteTx<'_>) -> ServiceResult<T> + Send>;

/// A unit of work: one write transaction, run by the actor that owns the entity. The answer
/// goes back on `reply`, so senders can use `try_send` and a full mailbox is refused at once
/// instead of queueing without bound (actix's `send` always queues).
pub struct Exec<T> {
    /// The transaction body.
    pub work: Work<T>,
    /// Where the result goes.
    pub reply: oneshot::Sender<ServiceResult<T>>,
}

impl<T: Send + 'static> Message for Exec<T> {
    type Result = ();
}

/// Which rate limit a connection actor should admit against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// View Secret.
    SecretView,
    /// Rotate.
    SecretRotation,
}

/// Admits one event against a connection's limit, or says how long to wait.
pub struct Admit(pub Limit);

impl Message for Admit {
    type Result = Result<(), Duration>;
}

/// How long an actor that has only ever answered "not found" stays alive: probing random ids
/// must not pin an actor per id for the whole idle period.
pub const PROBE_IDLE: Duration = Duration::from_secs(2);

pub(crate) struct Liveness {
    /// When the actor last handled a message.
    pub(crate) last_active: Instant,
    idle: Duration,
    /// Whether any message has succeeded (the entity exists).
    proven: bool,
}

impl Liveness {
    fn new(core: &Core) -> Self {
        Liveness {
            last_active: Instant::now(),
            idle: core.settings.effective_idle(),
            proven: false,
        }
    }
}

macro_rules! entity_actor {
    ($(#[$doc:meta])* $name:ident, $id:ty, $kind:literal, $map:ident $(, $field:ident : $ty:ty)*) => {
        $(#[$doc])*
        pub struct $name {
            pub(crate) id: $id,
            pub(crate) core: Arc<Core>,
            pub(crate) live: Liveness,
            $(pub(crate) $field: $ty,)*
        }

        impl Actor for $name {
            type Context = Context<Self>;

            fn started(&mut self, ctx: &mut Self::Context) {
                ctx.set_mailbox_capacity(self.core.settings.mailbox_capacity);
                metrics::gauge!("switchboard_actors", "kind" => $kind).increment(1.0);
                let tick = (self.live.idle / 4).clamp(Duration::from_millis(50), PROBE_IDLE);
                ctx.run_interval(tick, |act, ctx| {
                    if act.live.last_active.elapsed() >= act.live.idle && !act.pinned() {
                        let me = ctx.address();
                        act.core.registry.$map.remove_if(&act.id, |_, addr| *addr == me);
                        ctx.stop();
                    }
                });
            }

            fn stopped(&mut self, ctx: &mut Self::Context) {
                let me = ctx.address();
                self.core.registry.$map.remove_if(&self.id, |_, addr| *addr == me);
                metrics::gauge!("switchboard_actors", "kind" => $kind).decrement(1.0);
            }
        }

        impl<T: Send + 'static> Handler<Exec<T>> for $name {
            type Result = AtomicResponse<Self, ()>;

            fn handle(&mut self, msg: Exec<T>, _ctx: &mut Self::Context) -> Self::Result {
                self.live.last_active = Instant::now();
                let store = self.core.store.clone();
                let Exec { work, reply } = msg;
                let idle = self.core.settings.effective_idle();
                AtomicResponse::new(Box::pin(
                    async move { store.write(work).await }
                        .into_actor(self)
                        .map(move |result, act, _ctx| {
                            match &result {
                                Ok(_) => {
                                    act.live.proven = true;
                                    act.live.idle = idle;
                                }
                                Err(ServiceError::Refused(Refusal::NotFound { .. })) if !act.live.proven => {
                                    act.live.idle = PROBE_IDLE;
                                }
                                Err(_) => {}
                            }
                            let _ = reply.send(result);
                        }),
                ))
            }
        }
    };
}

entity_actor!(
    /// Orders changes to one organization: servers, channels, members, peering requests it
    /// sends or decides, and the tier checks that go with them.
    OrgActor, OrgId, "org", orgs
);
entity_actor!(
    /// Orders changes to one agreement: grants inside it and its revocation cascade.
    AgreementActor, AgreementId, "agreement", agreements
);
entity_actor!(
    /// Orders changes to one connection: status moves, secret views and rotations, and keeps
    /// its secret rate limits (strict windows).
    ConnectionActor, ConnectionId, "connection", connections,
    views: StrictWindow,
    rotations: StrictWindow,
    signaling: Signaling
);

impl OrgActor {
    fn pinned(&self) -> bool {
        false
    }
}

impl AgreementActor {
    fn pinned(&self) -> bool {
        false
    }
}

impl OrgActor {
    /// A new actor for `id`.
    pub fn new(id: OrgId, core: Arc<Core>) -> Self {
        OrgActor {
            id,
            live: Liveness::new(&core),
            core,
        }
    }
}

impl AgreementActor {
    /// A new actor for `id`.
    pub fn new(id: AgreementId, core: Arc<Core>) -> Self {
        AgreementActor {
            id,
            live: Liveness::new(&core),
            core,
        }
    }
}

impl ConnectionActor {
    /// A new actor for `id`, with fresh rate windows.
    pub fn new(id: ConnectionId, core: Arc<Core>) -> Self {
        let s = &core.settings;
        let views = StrictWindow::new(s.secret_views, s.secret_views_window);
        let rotations = StrictWindow::new(s.secret_rotations, s.secret_rotations_window);
        ConnectionActor {
            id,
            live: Liveness::new(&core),
            signaling: Signaling::new(&core.settings),
            core,
            views,
            rotations,
        }
    }

    /// A connection with a signaling session in progress keeps its actor.
    fn pinned(&self) -> bool {
        self.signaling.in_session()
    }
}

impl Handler<Admit> for ConnectionActor {
    type Result = Result<(), Duration>;

    fn handle(&mut self, msg: Admit, _ctx: &mut Self::Context) -> Self::Result {
        self.live.last_active = Instant::now();
        let now = self.core.clock.now();
        match msg.0 {
            Limit::SecretView => self.views.admit(now),
            Limit::SecretRotation => self.rotations.admit(now),
        }
    }
}
