//! Switchboard's domain: the entities of SPEC §1 and every business rule of SPEC §2–§7 as
//! pure, synchronous functions. A rule takes the current state, the [`Caller`] and an event,
//! and returns the new state with a [`ChangeSet`] (entities, notifications, audit events and
//! runtime [`Effect`]s), or a typed [`Refusal`]. Nothing here does I/O, so the actors can apply
//! a rule, commit its change set in one transaction, then carry out the effects.

pub mod caller;
pub mod changes;
pub mod entities;
pub mod ids;
pub mod permissions;
pub mod refusal;
pub mod rules;
pub mod tiers;
pub mod visibility;

pub use caller::{Caller, Principal, Role};
pub use changes::{ChangeSet, Effect};
pub use refusal::{Decision, EntityKind, Refusal};
