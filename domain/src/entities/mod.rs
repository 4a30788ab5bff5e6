//! The entities of SPEC §1, as stored and as the rules see them. Projections for callers
//! live in [`crate::visibility`]; these types may hold fields a given caller must not see.

mod agreement;
mod audit;
mod channel;
mod connection;
mod grant;
mod notification;
mod organization;
mod peering;
mod server;
mod user;

pub use agreement::{Agreement, AgreementStatus};
pub use audit::{AuditEvent, AuditOutcome};
pub use channel::{Channel, Direction};
pub use connection::{
    AuthFailure, AuthFailureReason, Connection, ConnectionKind, ConnectionMode, ConnectionStatus,
    Connectivity, OverallConnectivity, SecretState, Side, SideConnectivity, TunnelPath,
};
pub use grant::{Grant, GrantPath, GrantStatus};
pub use notification::{Notification, NotificationKind};
pub use organization::{Organization, valid_slug};
pub use peering::{PeeringRequest, PeeringStatus};
pub use server::Server;
pub use user::User;
