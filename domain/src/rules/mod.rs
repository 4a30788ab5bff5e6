//! The business rules, one file per aggregate. Every function checks visibility, role,
//! status and limits in that order, so an outsider learns nothing (404) before an insider
//! learns what their role lacks (403) or what the state forbids (409).

pub mod agreement;
pub mod catalog;
pub mod connection;
pub mod grant;
pub mod members;
pub mod peering;
pub mod provisioning;
pub mod secret;
