//! Model test: random puts, updates and deletes applied both to plain maps and to the store,
//! then every index query compared with the answer computed from the maps. A stale or missing
//! index entry, or a unique constraint enforced differently, shows up as a mismatch.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use switchboard_domain::entities::{
    Agreement, AgreementStatus, Channel, Connection, ConnectionStatus, Grant, Notification,
    Organization, PeeringRequest, PeeringStatus, Server, User,
};
use switchboard_domain::ids::{
    AgreementId, ChannelId, ConnectionId, GrantId, NotificationId, OrgId, PeeringRequestId,
    ServerId, UserId,
};
use switchboard_storage::{Reader, StoreError, WriteTx};

const N: usize = 4;
const SLUGS: [&str; 3] = ["alpha", "beta", "gamma"];
const EMAILS: [&str; 3] = ["a@x.test", "b@x.test", "c@x.test"];

#[derive(Debug, Clone)]
enum Op {
    Org {
        i: usize,
        slug: usize,
    },
    User {
        i: usize,
        org: usize,
        email: usize,
        upper: bool,
    },
    DeleteUser {
        i: usize,
    },
    Server {
        i: usize,
        org: usize,
    },
    DeleteServer {
        i: usize,
    },
    Channel {
        i: usize,
        server: usize,
        org: usize,
    },
    DeleteChannel {
        i: usize,
    },
    Request {
        i: usize,
        from: usize,
        to: usize,
        status: usize,
    },
    Agreement {
        i: usize,
        a: usize,
        b: usize,
        active: bool,
    },
    Grant {
        i: usize,
        agreement: usize,
        channel: usize,
        owner: usize,
        grantee: usize,
    },
    Connection {
        i: usize,
        agreement: usize,
        grant: Option<usize>,
        source: Option<usize>,
        target: usize,
        source_org: usize,
        target_org: usize,
        terminal: bool,
    },
    Notification {
        i: usize,
        org: usize,
        at: i64,
        read: bool,
    },
    DeleteNotification {
        i: usize,
    },
    MarkRead {
        org: usize,
        i: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let i = || 0..N;
    let org = || 0..3usize;
    prop_oneof![
        (i(), 0..SLUGS.len()).prop_map(|(i, slug)| Op::Org { i, slug }),
        (i(), org(), 0..EMAILS.len(), any::<bool>()).prop_map(|(i, org, email, upper)| Op::User {
            i,
            org,
            email,
            upper
        }),
        i().prop_map(|i| Op::DeleteUser { i }),
        (i(), org()).prop_map(|(i, org)| Op::Server { i, org }),
        i().prop_map(|i| Op::DeleteServer { i }),
        (i(), i(), org()).prop_map(|(i, server, org)| Op::Channel { i, server, org }),
        i().prop_map(|i| Op::DeleteChannel { i }),
        (i(), org(), org(), 0..4usize).prop_map(|(i, from, to, status)| Op::Request {
            i,
            from,
            to,
            status
        }),
        (i(), org(), org(), any::<bool>()).prop_map(|(i, a, b, active)| Op::Agreement {
            i,
            a,
            b,
            active
        }),
        (i(), i(), i(), org(), org()).prop_map(|(i, agreement, channel, owner, grantee)| {
            Op::Grant {
                i,
                agreement,
                channel,
                owner,
                grantee,
            }
        }),
        (
            (
                i(),
                i(),
                proptest::option::of(i()),
                proptest::option::of(i())
            ),
            (i(), org(), org(), any::<bool>())
        )
            .prop_map(
                |((i, agreement, grant, source), (target, source_org, target_org, terminal))| {
                    Op::Connection {
                        i,
                        agreement,
                        grant,
                        source,
                        target,
                        source_org,
                        target_org,
                        terminal,
                    }
                }
            ),
        (0..6usize, org(), 0..4i64, any::<bool>())
            .prop_map(|(i, org, at, read)| Op::Notification { i, org, at, read }),
        (0..6usize).prop_map(|i| Op::DeleteNotification { i }),
        (org(), 0..6usize).prop_map(|(org, i)| Op::MarkRead { org, i }),
    ]
}

/// The ids every case draws from, so ops collide on purpose.
struct Ids {
    orgs: Vec<OrgId>,
    users: Vec<UserId>,
    servers: Vec<ServerId>,
    channels: Vec<ChannelId>,
    requests: Vec<PeeringRequestId>,
    agreements: Vec<AgreementId>,
    grants: Vec<GrantId>,
    connections: Vec<ConnectionId>,
    notifications: Vec<NotificationId>,
}

impl Ids {
    fn new() -> Ids {
        Ids {
            orgs: (0..3).map(|_| OrgId::generate()).collect(),
            users: (0..N).map(|_| UserId::generate()).collect(),
            servers: (0..N).map(|_| ServerId::generate()).collect(),
            channels: (0..N).map(|_| ChannelId::generate()).collect(),
            requests: (0..N).map(|_| PeeringRequestId::generate()).collect(),
            agreements: (0..N).map(|_| AgreementId::generate()).collect(),
            grants: (0..N).map(|_| GrantId::generate()).collect(),
            connections: (0..N).map(|_| ConnectionId::generate()).collect(),
            notifications: (0..6).map(|_| NotificationId::generate()).collect(),
        }
    }
}

/// What the store should hold.
#[derive(Default)]
struct Model {
    orgs: BTreeMap<OrgId, Organization>,
    users: BTreeMap<UserId, User>,
    servers: BTreeMap<ServerId, Server>,
    channels: BTreeMap<ChannelId, Channel>,
    requests: BTreeMap<PeeringRequestId, PeeringRequest>,
    agreements: BTreeMap<AgreementId, Agreement>,
    grants: BTreeMap<GrantId, Grant>,
    connections: BTreeMap<ConnectionId, Connection>,
    notifications: BTreeMap<NotificationId, Notification>,
}

fn pair(a: &OrgId, b: &OrgId) -> (OrgId, OrgId) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

/// A write mirroring one op.
type StoreWrite = Box<dyn Fn(&mut WriteTx<'_>) -> Result<(), StoreError>>;

/// Applies `op` to the model and returns the store write that mirrors it, or `None` when the
/// model says a unique constraint refuses it (the store must then answer `Conflict`).
fn apply(model: &mut Model, ids: &Ids, op: &Op) -> Option<StoreWrite> {
    match *op {
        Op::Org { i, slug } => {
            let mut o = org(SLUGS[slug]);
            o.id = ids.orgs[i % 3].clone();
            if model
                .orgs
                .values()
                .any(|x| x.slug == o.slug && x.id != o.id)
            {
                return None;
            }
            model.orgs.insert(o.id.clone(), o.clone());
            Some(Box::new(move |tx| tx.put_org(&o)))
        }
        Op::User {
            i,
            org,
            email,
            upper,
        } => {
            let address = if upper {
                EMAILS[email].to_uppercase()
            } else {
                EMAILS[email].to_owned()
            };
            let mut u = user(&ids.orgs[org], &address);
            u.id = ids.users[i].clone();
            if model
                .users
                .values()
                .any(|x| x.email.to_lowercase() == u.email.to_lowercase() && x.id != u.id)
            {
                return None;
            }
            model.users.insert(u.id.clone(), u.clone());
            Some(Box::new(move |tx| tx.put_user(&u)))
        }
        Op::DeleteUser { i } => {
            let id = ids.users[i].clone();
            let existed = model.users.remove(&id).is_some();
            Some(Box::new(move |tx| {
                assert_eq!(tx.delete_user(&id)?, existed);
                Ok(())
            }))
        }
        Op::Server { i, org } => {
            let mut s = server(&ids.orgs[org]);
            s.id = ids.servers[i].clone();
            model.servers.insert(s.id.clone(), s.clone());
            Some(Box::new(move |tx| tx.put_server(&s)))
        }
        Op::DeleteServer { i } => {
            let id = ids.servers[i].clone();
            let existed = model.servers.remove(&id).is_some();
            Some(Box::new(move |tx| {
                assert_eq!(tx.delete_server(&id)?, existed);
                Ok(())
            }))
        }
        Op::Channel { i, server: s, org } => {
            let mut host = server(&ids.orgs[org]);
            host.id = ids.servers[s].clone();
            let mut c = channel(&host);
            c.id = ids.channels[i].clone();
            model.channels.insert(c.id.clone(), c.clone());
            Some(Box::new(move |tx| tx.put_channel(&c)))
        }
        Op::DeleteChannel { i } => {
            let id = ids.channels[i].clone();
            let existed = model.channels.remove(&id).is_some();
            Some(Box::new(move |tx| {
                assert_eq!(tx.delete_channel(&id)?, existed);
                Ok(())
            }))
        }
        Op::Request {
            i,
            from,
            to,
            status,
        } => {
            let status = [
                PeeringStatus::Pending,
                PeeringStatus::Accepted,
                PeeringStatus::Declined,
                PeeringStatus::Withdrawn,
            ][status];
            let mut r = request(&ids.orgs[from], &ids.orgs[to], status);
            r.id = ids.requests[i].clone();
            let clash = status == PeeringStatus::Pending
                && model.requests.values().any(|x| {
                    x.status == PeeringStatus::Pending
                        && x.from_org == r.from_org
                        && x.to_org == r.to_org
                        && x.id != r.id
                });
            if clash {
                return None;
            }
            model.requests.insert(r.id.clone(), r.clone());
            Some(Box::new(move |tx| tx.put_peering_request(&r)))
        }
        Op::Agreement { i, a, b, active } => {
            let status = if active {
                AgreementStatus::Active
            } else {
                AgreementStatus::Revoked
            };
            let mut g = agreement(&ids.orgs[a], &ids.orgs[b], status);
            g.id = ids.agreements[i].clone();
            let clash = active
                && model.agreements.values().any(|x| {
                    x.status == AgreementStatus::Active
                        && pair(&x.party_a, &x.party_b) == pair(&g.party_a, &g.party_b)
                        && x.id != g.id
                });
            if clash {
                return None;
            }
            model.agreements.insert(g.id.clone(), g.clone());
            Some(Box::new(move |tx| tx.put_agreement(&g)))
        }
        Op::Grant {
            i,
            agreement: a,
            channel: c,
            owner,
            grantee,
        } => {
            let mut host = server(&ids.orgs[owner]);
            host.id = ids.servers[0].clone();
            let mut ch = channel(&host);
            ch.id = ids.channels[c].clone();
            let mut g = grant(&ids.agreements[a], &ch, &ids.orgs[grantee]);
            g.id = ids.grants[i].clone();
            model.grants.insert(g.id.clone(), g.clone());
            Some(Box::new(move |tx| tx.put_grant(&g)))
        }
        Op::Connection {
            i,
            agreement: a,
            grant: g,
            source,
            target,
            source_org,
            target_org,
            terminal,
        } => {
            let mut src = server(&ids.orgs[source_org]);
            src.id = ids.servers[source.unwrap_or(0)].clone();
            let mut dst = server(&ids.orgs[target_org]);
            dst.id = ids.servers[target].clone();
            let grant_id = g.map(|g| ids.grants[g].clone());
            let mut c = connection(&ids.agreements[a], grant_id.as_ref(), &src, &dst);
            c.id = ids.connections[i].clone();
            if source.is_none() {
                c.source_server_id = None;
            }
            if terminal {
                c.status = ConnectionStatus::Terminated;
            }
            model.connections.insert(c.id.clone(), c.clone());
            Some(Box::new(move |tx| tx.put_connection(&c)))
        }
        Op::Notification {
            i,
            org,
            at: secs,
            read,
        } => {
            let mut n = notification(&ids.orgs[org], secs);
            n.id = ids.notifications[i].clone();
            n.read = read;
            model.notifications.insert(n.id.clone(), n.clone());
            Some(Box::new(move |tx| tx.put_notification(&n)))
        }
        Op::DeleteNotification { i } => {
            let id = ids.notifications[i].clone();
            let existed = model.notifications.remove(&id).is_some();
            Some(Box::new(move |tx| {
                assert_eq!(tx.delete_notification(&id)?, existed);
                Ok(())
            }))
        }
        Op::MarkRead { org, i } => {
            let id = ids.notifications[i].clone();
            let owner = ids.orgs[org].clone();
            let mine = match model.notifications.get_mut(&id) {
                Some(n) if n.org_id == owner => {
                    n.read = true;
                    true
                }
                _ => false,
            };
            Some(Box::new(move |tx| {
                assert_eq!(tx.mark_notification_read(&owner, &id)?, mine);
                Ok(())
            }))
        }
    }
}

fn sorted<T: Clone, K: Ord>(items: impl Iterator<Item = T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut v: Vec<T> = items.collect();
    v.sort_by_key(|x| key(x));
    v
}

/// Compares every index query with the model.
fn check(r: &impl Reader, m: &Model, ids: &Ids) {
    assert_eq!(
        r.list_orgs().unwrap(),
        m.orgs.values().cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        r.list_users().unwrap(),
        m.users.values().cloned().collect::<Vec<_>>()
    );
    for slug in SLUGS {
        assert_eq!(
            r.org_by_slug(slug).unwrap(),
            m.orgs.values().find(|o| o.slug == slug).cloned()
        );
    }
    for email in EMAILS {
        assert_eq!(
            r.user_by_email(&email.to_uppercase()).unwrap(),
            m.users
                .values()
                .find(|u| u.email.to_lowercase() == email)
                .cloned()
        );
    }
    for org in &ids.orgs {
        let users: Vec<_> = m
            .users
            .values()
            .filter(|u| &u.org_id == org)
            .cloned()
            .collect();
        assert_eq!(r.users_of_org(org).unwrap(), users);
        let servers: Vec<_> = m
            .servers
            .values()
            .filter(|s| &s.org_id == org)
            .cloned()
            .collect();
        assert_eq!(r.count_servers_of_org(org).unwrap() as usize, servers.len());
        assert_eq!(r.servers_of_org(org).unwrap(), servers);
        let out: Vec<_> = m
            .requests
            .values()
            .filter(|x| &x.from_org == org)
            .cloned()
            .collect();
        assert_eq!(r.peering_outbox(org).unwrap(), out);
        let inbox: Vec<_> = m
            .requests
            .values()
            .filter(|x| &x.to_org == org)
            .cloned()
            .collect();
        assert_eq!(r.peering_inbox(org).unwrap(), inbox);
        let agreements: Vec<_> = m
            .agreements
            .values()
            .filter(|a| a.has_party(org))
            .cloned()
            .collect();
        assert_eq!(r.agreements_of_org(org).unwrap(), agreements);
        let peers = agreements
            .iter()
            .filter(|a| a.status == AgreementStatus::Active && !a.is_self())
            .count();
        assert_eq!(r.count_active_peer_agreements(org).unwrap() as usize, peers);
        let grants: Vec<_> = m
            .grants
            .values()
            .filter(|g| &g.owner_org == org || &g.grantee_org == org)
            .cloned()
            .collect();
        assert_eq!(r.grants_of_org(org).unwrap(), grants);
        let conns: Vec<_> = m
            .connections
            .values()
            .filter(|c| c.has_party(org))
            .cloned()
            .collect();
        assert_eq!(r.connections_of_org(org).unwrap(), conns);
        for status in switchboard_domain::entities::ConnectionStatus::ALL {
            let with: Vec<_> = m
                .connections
                .values()
                .filter(|c| c.status == status)
                .cloned()
                .collect();
            assert_eq!(
                r.connections_with_status(status).unwrap(),
                with,
                "{status:?}"
            );
        }
        for unread_only in [false, true] {
            let newest: Vec<_> = sorted(
                m.notifications
                    .values()
                    .filter(|n| &n.org_id == org && (!unread_only || !n.read))
                    .cloned(),
                |n| std::cmp::Reverse((n.at, n.id.clone())),
            );
            for limit in [2, 100] {
                let expected: Vec<_> = newest.iter().take(limit).cloned().collect();
                assert_eq!(
                    r.notifications_for_org(org, unread_only, limit).unwrap(),
                    expected
                );
            }
        }
        for other in &ids.orgs {
            let pending = m
                .requests
                .values()
                .find(|x| {
                    x.status == PeeringStatus::Pending && &x.from_org == org && &x.to_org == other
                })
                .cloned();
            assert_eq!(r.pending_request_between(org, other).unwrap(), pending);
            let active = m
                .agreements
                .values()
                .find(|a| {
                    a.status == AgreementStatus::Active
                        && pair(&a.party_a, &a.party_b) == pair(org, other)
                })
                .cloned();
            assert_eq!(r.active_agreement_between(org, other).unwrap(), active);
        }
        assert_eq!(
            r.active_self_agreement(org).unwrap(),
            r.active_agreement_between(org, org).unwrap()
        );
    }
    for server in &ids.servers {
        let channels: Vec<_> = m
            .channels
            .values()
            .filter(|c| &c.server_id == server)
            .cloned()
            .collect();
        assert_eq!(
            r.count_channels_of_server(server).unwrap() as usize,
            channels.len()
        );
        assert_eq!(r.channels_of_server(server).unwrap(), channels);
        let conns: Vec<_> = m
            .connections
            .values()
            .filter(|c| {
                &c.target_server_id == server || c.source_server_id.as_ref() == Some(server)
            })
            .cloned()
            .collect();
        assert_eq!(r.connections_of_server(server).unwrap(), conns);
    }
    for channel in &ids.channels {
        let grants: Vec<_> = m
            .grants
            .values()
            .filter(|g| &g.channel_id == channel)
            .cloned()
            .collect();
        assert_eq!(r.grants_of_channel(channel).unwrap(), grants);
    }
    for agreement in &ids.agreements {
        let grants: Vec<_> = m
            .grants
            .values()
            .filter(|g| &g.agreement_id == agreement)
            .cloned()
            .collect();
        assert_eq!(r.grants_of_agreement(agreement).unwrap(), grants);
        let conns: Vec<_> = m
            .connections
            .values()
            .filter(|c| &c.agreement_id == agreement)
            .cloned()
            .collect();
        assert_eq!(r.connections_of_agreement(agreement).unwrap(), conns);
    }
    for grant in &ids.grants {
        let conns: Vec<_> = m
            .connections
            .values()
            .filter(|c| c.grant_id.as_ref() == Some(grant))
            .cloned()
            .collect();
        assert_eq!(r.connections_of_grant(grant).unwrap(), conns);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn indexes_match_a_model_under_random_puts_and_deletes(ops in proptest::collection::vec(op(), 1..40)) {
        let mut fx = Fixture::new();
        let ids = Ids::new();
        let mut model = Model::default();
        for (n, op) in ops.iter().enumerate() {
            match apply(&mut model, &ids, op) {
                Some(write) => fx.store().write(|tx| write(tx)).unwrap(),
                None => {
                    let err = fx
                        .store()
                        // Replay the refused op against the store: it must conflict.
                        .write(|tx| replay(tx, &ids, op))
                        .unwrap_err();
                    prop_assert!(matches!(err, StoreError::Conflict { .. }), "op {n} {op:?}: {err}");
                }
            }
            check(&fx.store().read().unwrap(), &model, &ids);
            // The write transaction's view agrees with the committed one.
            fx.store().write(|tx| { check(tx, &model, &ids); Ok::<_, StoreError>(()) }).unwrap();
        }
        fx.reopen();
        check(&fx.store().read().unwrap(), &model, &ids);
    }
}

/// Performs `op` on the store regardless of the model (used for ops the model refuses).
fn replay(tx: &mut WriteTx<'_>, ids: &Ids, op: &Op) -> Result<(), StoreError> {
    let mut scratch = Model::default();
    match apply(&mut scratch, ids, op) {
        Some(write) => write(tx),
        None => unreachable!("an empty model refuses nothing"),
    }
}
