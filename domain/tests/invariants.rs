//! Property tests: random sequences of actions by random callers, applied through the rules
//! to a small in-memory world, never break the invariants of SPEC §3–§7:
//! terminal states stay terminal; a revoked agreement has no live grants or connections (nor
//! does a revoked grant); no tier limit is ever exceeded; a p2p secret is revealed at most once
//! per side between rotations.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::HashMap;

use chrono::Duration;
use common::*;
use proptest::prelude::*;
use switchboard_domain::entities::*;
use switchboard_domain::rules::connection::{ConnectionEvent, transition};
use switchboard_domain::rules::grant::{GrantEvent, create, decide};
use switchboard_domain::rules::peering::{
    Pair, PairFacts, PeeringEvent, decide_request, send_request,
};
use switchboard_domain::rules::provisioning::{
    AdminAccess, AdminOffer, P2pRequest, offer_admin, provision_p2p,
};
use switchboard_domain::rules::{agreement, catalog, secret};
use switchboard_domain::tiers::{Limit, Tier, TierTable};
use switchboard_domain::{Caller, ChangeSet, Role};

#[derive(Debug, Clone)]
enum Act {
    Send {
        from: usize,
        to: usize,
    },
    Decide {
        req: usize,
        event: usize,
        by: usize,
    },
    Revoke {
        agr: usize,
        by: usize,
    },
    Grant {
        agr: usize,
        channel: usize,
        by: usize,
    },
    DecideGrant {
        grant: usize,
        event: usize,
        by: usize,
    },
    Provision {
        grant: usize,
        source: usize,
        target: usize,
        by: usize,
    },
    OfferAdmin {
        agr: usize,
        server: usize,
        rw: bool,
        by: usize,
    },
    Move {
        conn: usize,
        event: usize,
        by: usize,
    },
    View {
        conn: usize,
        by: usize,
    },
    Rotate {
        conn: usize,
        by: usize,
    },
    Enroll {
        conn: usize,
    },
    AddServer {
        org: usize,
    },
}

fn act() -> impl Strategy<Value = Act> {
    let i = || 0usize..8;
    prop_oneof![
        2 => (i(), i()).prop_map(|(from, to)| Act::Send { from, to }),
        3 => (i(), 0usize..3, i()).prop_map(|(req, event, by)| Act::Decide { req, event, by }),
        1 => (i(), i()).prop_map(|(agr, by)| Act::Revoke { agr, by }),
        3 => (i(), i(), i()).prop_map(|(agr, channel, by)| Act::Grant { agr, channel, by }),
        3 => (i(), 0usize..3, i()).prop_map(|(grant, event, by)| Act::DecideGrant { grant, event, by }),
        3 => (i(), i(), i(), i()).prop_map(|(grant, source, target, by)| Act::Provision { grant, source, target, by }),
        1 => (i(), i(), any::<bool>(), i()).prop_map(|(agr, server, rw, by)| Act::OfferAdmin { agr, server, rw, by }),
        1 => (i(), 0usize..11, i()).prop_map(|(conn, event, by)| Act::Move { conn, event, by }),
        3 => (i(), i()).prop_map(|(conn, by)| Act::View { conn, by }),
        1 => (i(), i()).prop_map(|(conn, by)| Act::Rotate { conn, by }),
        1 => i().prop_map(|conn| Act::Enroll { conn }),
        1 => i().prop_map(|org| Act::AddServer { org }),
    ]
}

struct World {
    tiers: TierTable,
    orgs: Vec<Organization>,
    servers: Vec<Server>,
    channels: Vec<Channel>,
    requests: Vec<PeeringRequest>,
    agreements: Vec<Agreement>,
    grants: Vec<Grant>,
    conns: Vec<Connection>,
    /// (connection, generation, side) → times revealed.
    reveals: HashMap<(String, u32, Side), u32>,
}

/// Picks mostly among the newest items, so random actions build on each other.
fn pick<T>(items: &[T], i: usize) -> Option<&T> {
    if items.is_empty() {
        None
    } else {
        items.get(items.len() - 1 - (i % 3) % items.len())
    }
}

impl World {
    fn new() -> Self {
        let orgs = vec![
            org("Alpha", Tier::Free),
            org("Beta", Tier::Free),
            org("Gamma", Tier::Standard),
        ];
        let mut servers = Vec::new();
        let mut channels = Vec::new();
        for o in &orgs {
            let s = server(o, &format!("{}-1", o.name));
            channels.push(channel(&s, Direction::Listener, true));
            channels.push(channel(&s, Direction::Sender, true));
            servers.push(s);
        }
        World {
            tiers: TierTable::default(),
            orgs,
            servers,
            channels,
            requests: vec![],
            agreements: vec![],
            grants: vec![],
            conns: vec![],
            reveals: HashMap::new(),
        }
    }

    /// A caller: mostly owners, sometimes members, admins or the platform admin.
    fn caller(&self, by: usize) -> Caller {
        let o = &self.orgs[by % self.orgs.len()];
        match by / self.orgs.len() {
            0 | 1 => owner(o),
            2 => caller(o, Role::Member),
            _ => platform_admin(),
        }
    }

    fn peers(&self, org: &Organization) -> u32 {
        self.agreements
            .iter()
            .filter(|a| a.status == AgreementStatus::Active && !a.is_self() && a.has_party(&org.id))
            .count() as u32
    }

    fn facts(&self, from: &Organization, to: &Organization) -> PairFacts {
        PairFacts {
            pending_exists: self.requests.iter().any(|r| {
                r.status == PeeringStatus::Pending && r.from_org == from.id && r.to_org == to.id
            }),
            active_agreement_exists: self.agreements.iter().any(|a| {
                a.status == AgreementStatus::Active
                    && ((a.party_a == from.id && a.party_b == to.id)
                        || (a.party_a == to.id && a.party_b == from.id))
            }),
            from_peers: self.peers(from),
            to_peers: self.peers(to),
        }
    }

    fn org(&self, id: &switchboard_domain::ids::OrgId) -> &Organization {
        self.orgs.iter().find(|o| &o.id == id).unwrap()
    }

    fn apply(&mut self, changes: ChangeSet) {
        fn upsert<T: Clone>(
            items: &mut Vec<T>,
            new: Vec<T>,
            same: impl Fn(&T, &T) -> bool,
            terminal: impl Fn(&T) -> bool,
            status: impl Fn(&T) -> String,
        ) {
            for n in new {
                match items.iter_mut().find(|o| same(o, &n)) {
                    Some(old) => {
                        assert!(
                            !terminal(old) || status(old) == status(&n),
                            "a terminal state changed: {} -> {}",
                            status(old),
                            status(&n)
                        );
                        *old = n;
                    }
                    None => items.push(n),
                }
            }
        }
        upsert(
            &mut self.requests,
            changes.requests,
            |a, b| a.id == b.id,
            |r| r.status.is_terminal(),
            |r| r.status.as_str().into(),
        );
        upsert(
            &mut self.agreements,
            changes.agreements,
            |a, b| a.id == b.id,
            |a| a.status == AgreementStatus::Revoked,
            |a| a.status.as_str().into(),
        );
        upsert(
            &mut self.grants,
            changes.grants,
            |a, b| a.id == b.id,
            |g| g.status.is_terminal(),
            |g| g.status.as_str().into(),
        );
        upsert(
            &mut self.conns,
            changes.connections,
            |a, b| a.id == b.id,
            |c| c.status.is_terminal(),
            |c| c.status.as_str().into(),
        );
    }

    fn reveal(&mut self, conn: &Connection, side: Side) {
        *self
            .reveals
            .entry((conn.id.to_string(), conn.secret.generation, side))
            .or_default() += 1;
    }

    fn step(&mut self, a: Act) {
        let t = self.tiers;
        let at = now();
        match a {
            Act::Send { from, to } => {
                let by = self.caller(from);
                let (f, o) = (self.orgs[from % 3].clone(), self.orgs[to % 3].clone());
                let facts = if f.id == o.id {
                    PairFacts {
                        active_agreement_exists: self.agreements.iter().any(|a| {
                            a.is_self() && a.party_a == f.id && a.status == AgreementStatus::Active
                        }),
                        ..self.facts(&f, &o)
                    }
                } else {
                    self.facts(&f, &o)
                };
                if let Ok(c) = send_request(
                    &by,
                    Pair {
                        from: &f,
                        to: &o,
                        facts,
                        tiers: &t,
                    },
                    at,
                ) {
                    self.apply(c);
                }
            }
            Act::Decide { req, event, by } => {
                let Some(r) = pick(&self.requests, req).cloned() else {
                    return;
                };
                let (f, o) = (self.org(&r.from_org).clone(), self.org(&r.to_org).clone());
                let ev = [
                    PeeringEvent::Accept,
                    PeeringEvent::Decline,
                    PeeringEvent::Withdraw,
                ][event];
                if let Ok(c) = decide_request(
                    &self.caller(by),
                    &r,
                    ev,
                    Pair {
                        from: &f,
                        to: &o,
                        facts: self.facts(&f, &o),
                        tiers: &t,
                    },
                    at,
                ) {
                    self.apply(c);
                }
            }
            Act::Revoke { agr, by } => {
                let Some(ag) = pick(&self.agreements, agr).cloned() else {
                    return;
                };
                let grants: Vec<_> = self
                    .grants
                    .iter()
                    .filter(|g| g.agreement_id == ag.id)
                    .cloned()
                    .collect();
                let conns: Vec<_> = self
                    .conns
                    .iter()
                    .filter(|c| c.agreement_id == ag.id)
                    .cloned()
                    .collect();
                if let Ok(c) = agreement::revoke(&self.caller(by), &ag, &grants, &conns, at) {
                    self.apply(c);
                }
            }
            Act::Grant { agr, channel, by } => {
                let Some(ag) = pick(&self.agreements, agr).cloned() else {
                    return;
                };
                let ch = pick(&self.channels, channel).unwrap().clone();
                let by = self.caller(by);
                let grantee = if by.org() == Some(&ch.org_id) {
                    ag.other_party(&ch.org_id).cloned()
                } else {
                    by.org().cloned()
                };
                let dup = self.grants.iter().any(|g| {
                    g.agreement_id == ag.id
                        && g.channel_id == ch.id
                        && Some(&g.grantee_org) == grantee.as_ref()
                        && !g.status.is_terminal()
                });
                if let Ok((_, c)) = create(&by, &ag, &ch, dup, at) {
                    self.apply(c);
                }
            }
            Act::DecideGrant { grant, event, by } => {
                let Some(g) = pick(&self.grants, grant).cloned() else {
                    return;
                };
                let ev = [GrantEvent::Approve, GrantEvent::Deny, GrantEvent::Revoke][event];
                let conns: Vec<_> = self
                    .conns
                    .iter()
                    .filter(|c| c.grant_id.as_ref() == Some(&g.id))
                    .cloned()
                    .collect();
                if let Ok((_, c)) = decide(&self.caller(by), &g, ev, &conns, at) {
                    self.apply(c);
                }
            }
            Act::Provision {
                grant,
                source,
                target,
                by,
            } => {
                let Some(g) = pick(&self.grants, grant).cloned() else {
                    return;
                };
                let ag = self
                    .agreements
                    .iter()
                    .find(|a| a.id == g.agreement_id)
                    .unwrap()
                    .clone();
                let ch = self
                    .channels
                    .iter()
                    .find(|c| c.id == g.channel_id)
                    .unwrap()
                    .clone();
                // Random servers of the agreement's parties: right and wrong directions alike.
                let party_servers: Vec<Server> = self
                    .servers
                    .iter()
                    .filter(|s| ag.has_party(&s.org_id))
                    .cloned()
                    .collect();
                let (s, tg) = (
                    party_servers[source % party_servers.len()].clone(),
                    party_servers[target % party_servers.len()].clone(),
                );
                let dup = self.conns.iter().any(|c| {
                    c.grant_id.as_ref() == Some(&g.id)
                        && c.source_server_id.as_ref() == Some(&s.id)
                        && c.target_server_id == tg.id
                        && !c.status.is_terminal()
                });
                let req = P2pRequest {
                    agreement: &ag,
                    grant: &g,
                    channel: &ch,
                    source: &s,
                    target: &tg,
                    mode: ConnectionMode::Webrtc,
                    duplicate_exists: dup,
                };
                if let Ok((conn, c)) = provision_p2p(&self.caller(by), req, at) {
                    assert_eq!(g.status, GrantStatus::Approved);
                    assert_eq!(ag.status, AgreementStatus::Active);
                    assert!(conn.grant_id.is_some());
                    self.apply(c);
                }
            }
            Act::OfferAdmin {
                agr,
                server,
                rw,
                by,
            } => {
                let Some(ag) = pick(&self.agreements, agr).cloned() else {
                    return;
                };
                let s = pick(&self.servers, server).unwrap().clone();
                let owner_org = self.org(&s.org_id).clone();
                let access = if rw {
                    AdminAccess::ReadWrite
                } else {
                    AdminAccess::ReadOnly
                };
                let offer = AdminOffer {
                    agreement: &ag,
                    server: &s,
                    owner: &owner_org,
                    access,
                    offer_ttl: Duration::days(7),
                };
                if let Ok((conn, c)) = offer_admin(&self.caller(by), offer, &t, at) {
                    assert!(
                        conn.kind != ConnectionKind::AdminRw
                            || owner_org.limits(&t, at).limits.admin_rw
                    );
                    self.apply(c);
                }
            }
            Act::Move { conn, event, by } => {
                let Some(cn) = pick(&self.conns, conn).cloned() else {
                    return;
                };
                let source = self
                    .servers
                    .iter()
                    .find(|s| s.org_id == cn.source_org && s.id != cn.target_server_id)
                    .cloned();
                let ev = match event {
                    0 => ConnectionEvent::Activate,
                    1 => ConnectionEvent::Pause,
                    2 => ConnectionEvent::Resume,
                    3 => match source {
                        Some(source) => ConnectionEvent::Accept { source },
                        None => return,
                    },
                    4 => ConnectionEvent::Decline,
                    5 => ConnectionEvent::Expire,
                    6 => ConnectionEvent::Fail {
                        reason: "ice".into(),
                    },
                    7 => ConnectionEvent::Retry,
                    8 => ConnectionEvent::Terminate,
                    9 => ConnectionEvent::AgreementRevoked,
                    _ => ConnectionEvent::GrantRevoked,
                };
                let by = if event >= 5 && event != 7 && event != 8 && by % 2 == 0 {
                    Caller::System
                } else {
                    self.caller(by)
                };
                let when = if event == 5 {
                    at + Duration::days(8)
                } else {
                    at
                };
                if let Ok((_, c)) = transition(&by, &cn, ev, when) {
                    self.apply(c);
                }
            }
            Act::View { conn, by } => {
                let Some(cn) = pick(&self.conns, conn).cloned() else {
                    return;
                };
                if let Ok(v) = secret::view(&self.caller(by), &cn, at) {
                    self.reveal(&cn, v.side);
                    self.apply(v.changes);
                }
            }
            Act::Enroll { conn } => {
                let Some(cn) = pick(&self.conns, conn).cloned() else {
                    return;
                };
                if let Ok(v) = secret::enroll(&cn, at) {
                    self.reveal(&cn, v.side);
                    self.apply(v.changes);
                }
            }
            Act::Rotate { conn, by } => {
                let Some(cn) = pick(&self.conns, conn).cloned() else {
                    return;
                };
                let by = self.caller(by);
                let org = by.org().map(|id| self.org(id).clone());
                if let Ok(r) = secret::rotate(&by, &cn, org.as_ref(), &t, at) {
                    if let Some(side) = r.revealed_to {
                        self.reveal(&r.connection, side);
                    }
                    self.apply(r.changes);
                }
            }
            Act::AddServer { org } => {
                let o = self.orgs[org % 3].clone();
                let count = self.servers.iter().filter(|s| s.org_id == o.id).count() as u32;
                if catalog::create_server(&owner(&o), &o, count, &t, at).is_ok() {
                    self.servers.push(server(&o, "extra"));
                }
            }
        }
    }

    fn check(&self) {
        for ag in self
            .agreements
            .iter()
            .filter(|a| a.status == AgreementStatus::Revoked)
        {
            assert!(
                self.grants
                    .iter()
                    .filter(|g| g.agreement_id == ag.id)
                    .all(|g| g.status.is_terminal()),
                "live grant under a revoked agreement"
            );
            assert!(
                self.conns
                    .iter()
                    .filter(|c| c.agreement_id == ag.id)
                    .all(|c| c.status.is_terminal()),
                "live connection under a revoked agreement"
            );
        }
        for g in self
            .grants
            .iter()
            .filter(|g| g.status == GrantStatus::Revoked)
        {
            assert!(
                self.conns
                    .iter()
                    .filter(|c| c.grant_id.as_ref() == Some(&g.id))
                    .all(|c| c.status.is_terminal()),
                "live connection under a revoked grant"
            );
        }
        for o in &self.orgs {
            let limits = o.limits(&self.tiers, now());
            let servers = self.servers.iter().filter(|s| s.org_id == o.id).count() as u32;
            assert!(
                limits
                    .limits
                    .limit(Limit::Servers)
                    .is_none_or(|max| servers <= max),
                "{} servers",
                servers
            );
            assert!(
                limits
                    .limits
                    .limit(Limit::Peers)
                    .is_none_or(|max| self.peers(o) <= max),
                "{} peers",
                self.peers(o)
            );
        }
        for ((conn, _, side), n) in &self.reveals {
            let c = self.conns.iter().find(|c| c.id.as_str() == conn).unwrap();
            if c.kind == ConnectionKind::P2p {
                assert!(*n <= 1, "p2p secret revealed {n} times to {side:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_action_sequences_keep_the_invariants(acts in proptest::collection::vec(act(), 1..120)) {
        let mut world = World::new();
        for a in acts {
            world.step(a);
            world.check();
        }
    }
}

/// The generator must reach the interesting states, or the property proves little.
#[test]
fn the_generator_reaches_deep_states() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut revoked, mut viewed_twice, mut terminated) = (false, false, false);
    let (mut p2p_count, mut approved, mut views) = (0, 0, 0);
    for _ in 0..300 {
        let acts = proptest::collection::vec(act(), 120)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut world = World::new();
        for a in acts {
            world.step(a);
        }
        revoked |= world.agreements.iter().any(|a| {
            a.status == AgreementStatus::Revoked
                && world.conns.iter().any(|c| c.agreement_id == a.id)
        });
        viewed_twice |= world.conns.iter().any(|c| !c.secret.plaintext_kept);
        p2p_count += world
            .conns
            .iter()
            .filter(|c| c.kind == ConnectionKind::P2p)
            .count();
        approved += world
            .grants
            .iter()
            .filter(|g| g.status == GrantStatus::Approved)
            .count();
        views += world.reveals.len();
        terminated |= world
            .conns
            .iter()
            .any(|c| c.status == ConnectionStatus::Terminated);
    }
    assert!(
        revoked && viewed_twice && terminated,
        "revoked={revoked} viewed_twice={viewed_twice} terminated={terminated} p2p={p2p_count} approved={approved} views={views}"
    );
}
