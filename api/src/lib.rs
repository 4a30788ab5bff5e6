//! Switchboard's HTTP admin API (SPEC §8) on hyper 1.x: JSON over HTTP/1.1 with bearer
//! tokens, errors in one shape, strict bodies with a size limit, request ids, metrics, and an
//! OpenAPI document generated from the same route table the router uses.
//!
//! Start it with [`serve`] on a bound listener and an [`ApiState`]; it must run on a tokio
//! runtime inside an actix `System`, because the service's operations run on actix actors.
//!
//! Modules:
//! - [`routes`]: the route table (method, path, name, auth, schemas);
//! - [`router`]: matching a request against it (404 / 405);
//! - [`server`]: the accept loop and the per-request pipeline;
//! - `handlers` (private): one service call per route, one file per area;
//! - [`error`]: the error shape and the one mapping from service errors;
//! - [`body`]: size-limited body reading and strict JSON parsing;
//! - [`query`]: typed, checked query parameters;
//! - [`request_id`]: `x-request-id` in and out;
//! - [`observe`]: request metrics and the per-request log line;
//! - [`openapi`] and [`schemas`]: the OpenAPI document;
//! - [`state`]: [`ApiState`] and [`ApiSettings`];
//! - [`wire`]: response shapes the service's types do not give directly.

pub mod body;
pub mod error;
mod handlers;
pub mod observe;
pub mod openapi;
pub mod query;
pub mod request_id;
pub mod router;
pub mod routes;
pub mod schemas;
pub mod server;
pub mod state;
pub mod wire;

pub use error::ApiError;
pub use server::serve;
pub use state::{ApiSettings, ApiState, ReadyCheck};
