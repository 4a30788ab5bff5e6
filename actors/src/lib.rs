//! Switchboard's live state. actix actors (one per organization, agreement and connection,
//! started lazily on an actor arbiter and stopped when idle) order the changes to their
//! entity; each change runs a `domain` rule inside one redb write transaction, so a cascade is
//! all or nothing; runtime effects (kicking gateways, dropping relay allocations) follow the
//! commit through an [`EffectSink`]. [`Switchboard`] is the service every front end calls.

pub mod clock;
pub mod core;
pub mod effects;
pub mod entity_actors;
pub mod error;
pub mod registry;
pub mod service;
pub mod signaling;
pub mod store;
pub mod turn;
pub mod window;

pub use clock::{Clock, ManualClock, SystemClock};
pub use core::{ActorSettings, Core};
pub use effects::{EffectSink, NoLiveSessions};
pub use error::{ServiceError, ServiceResult};
pub use service::Switchboard;
pub use store::StoreHandle;
