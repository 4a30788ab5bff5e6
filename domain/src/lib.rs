//! Switchboard's domain: the entities of SPEC §1 and every business rule of SPEC §2–§7 as
//! pure, synchronous functions. A rule takes the current state, the [`Caller`] and an event,
//! and returns the new state with its [`Effect`]s, or a typed [`Refusal`]. Nothing here does
//! I/O, so the actors can apply a rule, commit the result, then carry out the effects.

pub mod caller;
pub mod entities;
pub mod ids;
pub mod refusal;
pub mod tiers;

pub use caller::{Caller, Principal, Role};
pub use refusal::{Decision, EntityKind, Refusal};
