//! The one route table. Every route of SPEC §8 is a row here: its method, path template
//! (`{id}` segments), the name used in logs and metrics labels, whether it needs a bearer
//! token, and the request and response schemas the OpenAPI document shows. The router matches
//! against this table and the handlers dispatch on [`RouteId`], so a route cannot be served
//! without being documented, nor documented without being served.

use hyper::Method;

/// An HTTP method the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Verb {
    /// Every verb, in the order `Allow` headers list them.
    pub const ALL: [Verb; 5] = [Verb::Get, Verb::Post, Verb::Put, Verb::Patch, Verb::Delete];

    /// The verb of a request method; `None` for methods no route serves (HEAD, OPTIONS, …).
    pub fn from_method(method: &Method) -> Option<Verb> {
        match *method {
            Method::GET => Some(Verb::Get),
            Method::POST => Some(Verb::Post),
            Method::PUT => Some(Verb::Put),
            Method::PATCH => Some(Verb::Patch),
            Method::DELETE => Some(Verb::Delete),
            _ => None,
        }
    }

    /// The method name as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    /// The hyper method.
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Patch => Method::PATCH,
            Verb::Delete => Method::DELETE,
        }
    }
}

/// What a route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Nothing: health, metrics, the OpenAPI document, gateway enrollment.
    Public,
    /// `Authorization: Bearer sbt_…` of a user (member or platform admin).
    Bearer,
}

/// What a successful response carries, for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// One JSON object of the named schema (see `schemas.rs`).
    One(&'static str),
    /// A JSON array of the named schema.
    List(&'static str),
    /// No body (204).
    Nothing,
    /// Prometheus text exposition format.
    PrometheusText,
    /// The OpenAPI document itself.
    OpenApi,
}

/// A query parameter a route accepts; any other is refused with 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryParam {
    /// Its name.
    pub name: &'static str,
    /// Its JSON schema type (`string`, `boolean`, `integer`).
    pub kind: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// Every route, for exhaustive dispatch.
#[allow(missing_docs)] // Each variant is documented by its row in `ROUTES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteId {
    Healthz,
    Readyz,
    Metrics,
    OpenApi,
    CreateOrg,
    AdminListOrgs,
    AdminListUsers,
    AdminSetTier,
    AdminAddOverride,
    AdminAudit,
    AdminRotateSecret,
    Me,
    GetOrg,
    UpdateOrg,
    ListMembers,
    AddMember,
    UpdateMember,
    RemoveMember,
    CreateToken,
    Directory,
    CreateServer,
    ListServers,
    GetServer,
    UpdateServer,
    DeleteServer,
    CreateChannel,
    ListChannels,
    GetChannel,
    UpdateChannel,
    DeleteChannel,
    SendPeeringRequest,
    PeeringInbox,
    PeeringOutbox,
    AcceptPeeringRequest,
    DeclinePeeringRequest,
    WithdrawPeeringRequest,
    ListAgreements,
    GetAgreement,
    AgreementChannels,
    RevokeAgreement,
    CreateGrant,
    ListGrants,
    ApproveGrant,
    DenyGrant,
    RevokeGrant,
    Provision,
    OfferAdmin,
    ListConnections,
    GetConnection,
    ActivateConnection,
    PauseConnection,
    ResumeConnection,
    TerminateConnection,
    RetryConnection,
    DeclineConnection,
    AcceptConnection,
    ViewSecret,
    RotateSecret,
    ConnectorConfig,
    Enroll,
    Diagnostics,
    Notifications,
    Audit,
}

/// One row of the route table.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// What the dispatcher calls.
    pub id: RouteId,
    /// The method.
    pub verb: Verb,
    /// The path template; `{id}` matches one segment.
    pub path: &'static str,
    /// Stable name for logs, the `route` metrics label and the OpenAPI `operationId`.
    pub name: &'static str,
    /// Whether a bearer token is required.
    pub auth: Auth,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// The JSON request body's schema; `None` = no body (empty or `{}` accepted).
    pub request: Option<&'static str>,
    /// The success response.
    pub returns: Returns,
    /// The success status.
    pub status: u16,
    /// Accepted query parameters.
    pub query: &'static [QueryParam],
}

impl Route {
    /// The OpenAPI tag: the first part of the name.
    pub fn tag(&self) -> &'static str {
        self.name.split('.').next().unwrap_or(self.name)
    }

    /// Whether the template has `{…}` segments.
    pub fn has_params(&self) -> bool {
        self.path.contains('{')
    }

    const fn new(
        id: RouteId,
        verb: Verb,
        path: &'static str,
        name: &'static str,
        summary: &'static str,
    ) -> Route {
        Route {
            id,
            verb,
            path,
            name,
            auth: Auth::Bearer,
            summary,
            request: None,
            returns: Returns::Nothing,
            status: 200,
            query: &[],
        }
    }

    const fn public(mut self) -> Route {
        self.auth = Auth::Public;
        self
    }

    const fn body(mut self, schema: &'static str) -> Route {
        self.request = Some(schema);
        self
    }

    const fn one(mut self, schema: &'static str) -> Route {
        self.returns = Returns::One(schema);
        self
    }

    const fn list(mut self, schema: &'static str) -> Route {
        self.returns = Returns::List(schema);
        self
    }

    const fn returns(mut self, returns: Returns) -> Route {
        self.returns = returns;
        self
    }

    const fn created(mut self) -> Route {
        self.status = 201;
        self
    }

    const fn no_content(mut self) -> Route {
        self.status = 204;
        self.returns = Returns::Nothing;
        self
    }

    const fn query(mut self, query: &'static [QueryParam]) -> Route {
        self.query = query;
        self
    }
}

/// Paging of the audit logs.
const AUDIT_QUERY: &[QueryParam] = &[
    QueryParam {
        name: "after",
        kind: "integer",
        description: "Return events with a sequence number above this (paging cursor).",
    },
    QueryParam {
        name: "limit",
        kind: "integer",
        description: "At most this many events (1–1000, default 100).",
    },
];

const CONNECTIONS_QUERY: &[QueryParam] = &[
    QueryParam {
        name: "status",
        kind: "string",
        description: "Only connections with this status.",
    },
    QueryParam {
        name: "include_terminal",
        kind: "boolean",
        description: "Include terminated, declined and expired connections (default false).",
    },
];

const DIRECTORY_QUERY: &[QueryParam] = &[QueryParam {
    name: "q",
    kind: "string",
    description: "Only organizations whose name or slug contains this.",
}];

const NOTIFICATIONS_QUERY: &[QueryParam] = &[
    QueryParam {
        name: "unread",
        kind: "boolean",
        description: "Only unread notifications (default false).",
    },
    QueryParam {
        name: "limit",
        kind: "integer",
        description: "At most this many notifications (1–1000, default 100).",
    },
];

use RouteId as R;
use Verb::{Delete, Get, Patch, Post, Put};

/// Every route of SPEC §8.
pub static ROUTES: &[Route] = &[
    // Operations.
    Route::new(R::Healthz, Get, "/healthz", "ops.healthz", "The process answers")
        .public()
        .one("Health"),
    Route::new(R::Readyz, Get, "/readyz", "ops.readyz", "The store answers; ready to serve")
        .public()
        .one("Health"),
    Route::new(R::Metrics, Get, "/metrics", "ops.metrics", "Prometheus metrics")
        .public()
        .returns(Returns::PrometheusText),
    Route::new(R::OpenApi, Get, "/v1/openapi.json", "ops.openapi", "This document")
        .public()
        .returns(Returns::OpenApi),
    // Platform administration.
    Route::new(R::CreateOrg, Post, "/v1/orgs", "orgs.create", "Create an organization and its first owner (platform admin); the owner's token is shown once")
        .body("NewOrg")
        .one("OrgCreated")
        .created(),
    Route::new(R::AdminListOrgs, Get, "/v1/admin/orgs", "admin.orgs.list", "List every organization (platform admin)")
        .list("Organization"),
    Route::new(R::AdminListUsers, Get, "/v1/admin/users", "admin.users.list", "List every user account (platform admin)")
        .list("User"),
    Route::new(R::AdminSetTier, Put, "/v1/admin/orgs/{id}/tier", "admin.orgs.set_tier", "Set an organization's tier (platform admin)")
        .body("TierChange")
        .one("Organization"),
    Route::new(R::AdminAddOverride, Post, "/v1/admin/orgs/{id}/overrides", "admin.orgs.add_override", "Apply a temporary tier override (platform admin)")
        .body("NewOverride")
        .one("Organization"),
    Route::new(R::AdminAudit, Get, "/v1/admin/audit", "admin.audit", "Every organization's audit events, oldest first (platform admin)")
        .list("AuditEntry")
        .query(AUDIT_QUERY),
    Route::new(R::AdminRotateSecret, Post, "/v1/admin/connections/{id}/secret/rotate", "admin.connections.rotate_secret", "Rotate a connection's secret as support; the new secret is not returned")
        .one("Rotated"),
    // The caller and their organization.
    Route::new(R::Me, Get, "/v1/me", "me.get", "The caller and their organization").one("Me"),
    Route::new(R::GetOrg, Get, "/v1/org", "org.get", "The caller's organization").one("Organization"),
    Route::new(R::UpdateOrg, Patch, "/v1/org", "org.update", "Change the organization's name, description or discoverability")
        .body("OrgPatch")
        .one("Organization"),
    Route::new(R::ListMembers, Get, "/v1/org/members", "org.members.list", "The organization's users").list("User"),
    Route::new(R::AddMember, Post, "/v1/org/members", "org.members.add", "Add a member; their first token is shown once")
        .body("NewMember")
        .one("MemberCreated")
        .created(),
    Route::new(R::UpdateMember, Patch, "/v1/org/members/{id}", "org.members.update", "Change a member's role")
        .body("MemberPatch")
        .one("User"),
    Route::new(R::RemoveMember, Delete, "/v1/org/members/{id}", "org.members.remove", "Remove a member and their tokens")
        .no_content(),
    Route::new(R::CreateToken, Post, "/v1/tokens", "tokens.create", "Create another API token for the caller (shown once)")
        .body("NewToken")
        .one("TokenCreated")
        .created(),
    Route::new(R::Directory, Get, "/v1/directory", "directory.search", "Discoverable organizations")
        .list("DirectoryEntry")
        .query(DIRECTORY_QUERY),
    // Servers and channels.
    Route::new(R::CreateServer, Post, "/v1/servers", "servers.create", "Register an integration server")
        .body("NewServer")
        .one("Server")
        .created(),
    Route::new(R::ListServers, Get, "/v1/servers", "servers.list", "The organization's servers").list("Server"),
    Route::new(R::GetServer, Get, "/v1/servers/{id}", "servers.get", "One server").one("Server"),
    Route::new(R::UpdateServer, Patch, "/v1/servers/{id}", "servers.update", "Change a server")
        .body("ServerPatch")
        .one("Server"),
    Route::new(R::DeleteServer, Delete, "/v1/servers/{id}", "servers.delete", "Delete a server without channels or live connections")
        .no_content(),
    Route::new(R::CreateChannel, Post, "/v1/servers/{id}/channels", "channels.create", "Create a channel on a server")
        .body("NewChannel")
        .one("Channel")
        .created(),
    Route::new(R::ListChannels, Get, "/v1/servers/{id}/channels", "channels.list", "A server's channels").list("Channel"),
    Route::new(R::GetChannel, Get, "/v1/channels/{id}", "channels.get", "One channel").one("Channel"),
    Route::new(R::UpdateChannel, Patch, "/v1/channels/{id}", "channels.update", "Change or (un)publish a channel")
        .body("ChannelPatch")
        .one("Channel"),
    Route::new(R::DeleteChannel, Delete, "/v1/channels/{id}", "channels.delete", "Delete a channel without live grants")
        .no_content(),
    // Peering.
    Route::new(R::SendPeeringRequest, Post, "/v1/peering/requests", "peering.requests.create", "Send a peering request to an organization (id or slug)")
        .body("NewPeeringRequest")
        .one("PeeringRequestView")
        .created(),
    Route::new(R::PeeringInbox, Get, "/v1/peering/inbox", "peering.inbox", "Peering requests received").list("PeeringRequestView"),
    Route::new(R::PeeringOutbox, Get, "/v1/peering/outbox", "peering.outbox", "Peering requests sent").list("PeeringRequestView"),
    Route::new(R::AcceptPeeringRequest, Post, "/v1/peering/requests/{id}/accept", "peering.requests.accept", "Accept a received request: an agreement is created")
        .one("PeeringRequestView"),
    Route::new(R::DeclinePeeringRequest, Post, "/v1/peering/requests/{id}/decline", "peering.requests.decline", "Decline a received request")
        .one("PeeringRequestView"),
    Route::new(R::WithdrawPeeringRequest, Post, "/v1/peering/requests/{id}/withdraw", "peering.requests.withdraw", "Withdraw a sent request")
        .one("PeeringRequestView"),
    // Agreements.
    Route::new(R::ListAgreements, Get, "/v1/agreements", "agreements.list", "The organization's agreements").list("AgreementView"),
    Route::new(R::GetAgreement, Get, "/v1/agreements/{id}", "agreements.get", "One agreement").one("AgreementView"),
    Route::new(R::AgreementChannels, Get, "/v1/agreements/{id}/channels", "agreements.channels", "The peer's published channels (public fields)")
        .list("ChannelView"),
    Route::new(R::RevokeAgreement, Post, "/v1/agreements/{id}/revoke", "agreements.revoke", "Revoke an agreement, its grants and connections")
        .one("AgreementView"),
    // Grants.
    Route::new(R::CreateGrant, Post, "/v1/grants", "grants.create", "Offer a channel (owner) or request access to one (peer)")
        .body("NewGrant")
        .one("GrantView")
        .created(),
    Route::new(R::ListGrants, Get, "/v1/grants", "grants.list", "Grants of the organization's agreements").list("GrantView"),
    Route::new(R::ApproveGrant, Post, "/v1/grants/{id}/approve", "grants.approve", "Approve a grant (the deciding side)").one("GrantView"),
    Route::new(R::DenyGrant, Post, "/v1/grants/{id}/deny", "grants.deny", "Deny a grant (the deciding side)").one("GrantView"),
    Route::new(R::RevokeGrant, Post, "/v1/grants/{id}/revoke", "grants.revoke", "Revoke a grant (the channel owner)").one("GrantView"),
    // Connections.
    Route::new(R::Provision, Post, "/v1/connections", "connections.provision", "Provision a p2p connection from an approved grant")
        .body("NewP2p")
        .one("ConnectionView")
        .created(),
    Route::new(R::OfferAdmin, Post, "/v1/connections/admin", "connections.offer_admin", "Offer an admin connection to the peer")
        .body("NewAdminOffer")
        .one("ConnectionView")
        .created(),
    Route::new(R::ListConnections, Get, "/v1/connections", "connections.list", "The organization's connections")
        .list("ConnectionView")
        .query(CONNECTIONS_QUERY),
    Route::new(R::GetConnection, Get, "/v1/connections/{id}", "connections.get", "One connection").one("ConnectionView"),
    Route::new(R::ActivateConnection, Post, "/v1/connections/{id}/activate", "connections.activate", "Activate a ready connection")
        .one("ConnectionView"),
    Route::new(R::PauseConnection, Post, "/v1/connections/{id}/pause", "connections.pause", "Pause an active connection")
        .one("ConnectionView"),
    Route::new(R::ResumeConnection, Post, "/v1/connections/{id}/resume", "connections.resume", "Resume a paused connection")
        .one("ConnectionView"),
    Route::new(R::TerminateConnection, Post, "/v1/connections/{id}/terminate", "connections.terminate", "Terminate a connection for good")
        .one("ConnectionView"),
    Route::new(R::RetryConnection, Post, "/v1/connections/{id}/retry", "connections.retry", "Return a failed connection to ready")
        .one("ConnectionView"),
    Route::new(R::DeclineConnection, Post, "/v1/connections/{id}/decline", "connections.decline", "Decline an admin offer (its recipient)")
        .one("ConnectionView"),
    Route::new(R::AcceptConnection, Post, "/v1/connections/{id}/accept", "connections.accept", "Accept an admin offer with a managing server (its recipient)")
        .body("AcceptOffer")
        .one("ConnectionView"),
    // Secrets.
    Route::new(R::ViewSecret, Post, "/v1/connections/{id}/secret/view", "connections.secret.view", "Reveal the shared secret (once per side for p2p)")
        .one("SecretReveal"),
    Route::new(R::RotateSecret, Post, "/v1/connections/{id}/secret/rotate", "connections.secret.rotate", "Rotate the shared secret; the new one is returned once")
        .one("Rotated"),
    // Gateway setup and troubleshooting.
    Route::new(R::ConnectorConfig, Get, "/v1/connections/{id}/connector-config", "connections.connector_config", "What the target-side plugin needs, with a fresh registration token (target owner only)")
        .one("ConnectorConfig"),
    Route::new(R::Enroll, Post, "/v1/gateway/enroll", "gateway.enroll", "Exchange a registration token for the connection's secret (no user token)")
        .public()
        .body("EnrollRequest")
        .one("Enrolled"),
    Route::new(R::Diagnostics, Get, "/v1/connections/{id}/diagnostics", "connections.diagnostics", "Why a connection is or is not connected")
        .one("Diagnostics"),
    // Feeds.
    Route::new(R::Notifications, Get, "/v1/notifications", "notifications.list", "The organization's notifications, newest first")
        .list("Notification")
        .query(NOTIFICATIONS_QUERY),
    Route::new(R::Audit, Get, "/v1/audit", "audit.list", "The organization's audit events, oldest first (owners and admins)")
        .list("AuditEntry")
        .query(AUDIT_QUERY),
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_and_method_paths_are_unique() {
        let mut names = HashSet::new();
        let mut keys = HashSet::new();
        let mut ids = HashSet::new();
        for r in ROUTES {
            assert!(names.insert(r.name), "duplicate name {}", r.name);
            assert!(
                keys.insert((r.verb, r.path)),
                "duplicate {} {}",
                r.verb.as_str(),
                r.path
            );
            assert!(ids.insert(r.id), "duplicate id {:?}", r.id);
            assert!(r.path.starts_with('/'));
            if r.status == 204 {
                assert_eq!(r.returns, Returns::Nothing, "{}", r.name);
            }
        }
    }
}
