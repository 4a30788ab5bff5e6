//! Entities round-trip, survive a reopen, and their indexes follow updates and deletes;
//! unique indexes refuse duplicates and the refused transaction writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use chrono::Utc;
use common::*;
use switchboard_domain::ChangeSet;
use switchboard_domain::entities::{AgreementStatus, ConnectionStatus, PeeringStatus};
use switchboard_domain::ids::{OrgId, UserId};
use switchboard_storage::{
    ApiToken, Reader, RegistrationRecord, RegistrationToken, StoreError, TokenRecord,
};

#[test]
fn every_entity_round_trips_and_survives_reopen() {
    let mut fx = Fixture::new();
    let a = org("acme");
    let b = org("beta");
    let u = user(&a.id, "alice@acme.test");
    let s1 = server(&a.id);
    let s2 = server(&b.id);
    let ch = channel(&s1);
    let pr = request(&a.id, &b.id, PeeringStatus::Pending);
    let agr = agreement(&a.id, &b.id, AgreementStatus::Active);
    let gr = grant(&agr.id, &ch, &b.id);
    let conn = connection(&agr.id, Some(&gr.id), &s2, &s1);
    let ntf = notification(&b.id, 5);
    fx.write(|tx| {
        tx.put_org(&a)?;
        tx.put_org(&b)?;
        tx.put_user(&u)?;
        tx.put_server(&s1)?;
        tx.put_server(&s2)?;
        tx.put_channel(&ch)?;
        tx.put_peering_request(&pr)?;
        tx.put_agreement(&agr)?;
        tx.put_grant(&gr)?;
        tx.put_connection(&conn)?;
        tx.put_notification(&ntf)?;
        tx.put_meta("platform_admin_created", b"yes")
    });
    for round in 0..2 {
        let r = fx.store().read().unwrap();
        assert_eq!(r.get_org(&a.id).unwrap(), Some(a.clone()), "round {round}");
        assert_eq!(r.get_user(&u.id).unwrap(), Some(u.clone()));
        assert_eq!(r.get_server(&s1.id).unwrap(), Some(s1.clone()));
        assert_eq!(r.get_channel(&ch.id).unwrap(), Some(ch.clone()));
        assert_eq!(r.get_peering_request(&pr.id).unwrap(), Some(pr.clone()));
        assert_eq!(r.get_agreement(&agr.id).unwrap(), Some(agr.clone()));
        assert_eq!(r.get_grant(&gr.id).unwrap(), Some(gr.clone()));
        assert_eq!(r.get_connection(&conn.id).unwrap(), Some(conn.clone()));
        assert_eq!(r.get_notification(&ntf.id).unwrap(), Some(ntf.clone()));
        assert_eq!(
            r.get_meta("platform_admin_created").unwrap().as_deref(),
            Some(&b"yes"[..])
        );
        assert_eq!(r.get_meta("absent").unwrap(), None);
        assert_eq!(r.list_orgs().unwrap(), {
            let mut v = vec![a.clone(), b.clone()];
            v.sort_by(|x, y| x.id.cmp(&y.id));
            v
        });
        assert_eq!(r.list_users().unwrap(), vec![u.clone()]);
        assert_eq!(r.get_org(&OrgId::generate()).unwrap(), None);
        drop(r);
        fx.reopen();
    }
}

#[test]
fn lookups_and_counts_follow_the_indexes() {
    let fx = Fixture::new();
    let a = org("acme");
    let b = org("beta");
    let c = org("gamma");
    let alice = user(&a.id, "Alice@Acme.test");
    let s1 = server(&a.id);
    let s2 = server(&a.id);
    let sb = server(&b.id);
    let ch1 = channel(&s1);
    let ch2 = channel(&s1);
    let ab = agreement(&a.id, &b.id, AgreementStatus::Active);
    let ca = agreement(&c.id, &a.id, AgreementStatus::Active);
    let aa = agreement(&a.id, &a.id, AgreementStatus::Active);
    let pending = request(&a.id, &c.id, PeeringStatus::Pending);
    let g = grant(&ab.id, &ch1, &b.id);
    let conn = connection(&ab.id, Some(&g.id), &sb, &s1);
    fx.write(|tx| {
        for o in [&a, &b, &c] {
            tx.put_org(o)?;
        }
        tx.put_user(&alice)?;
        for s in [&s1, &s2, &sb] {
            tx.put_server(s)?;
        }
        tx.put_channel(&ch1)?;
        tx.put_channel(&ch2)?;
        tx.put_agreement(&ab)?;
        tx.put_agreement(&ca)?;
        tx.put_agreement(&aa)?;
        tx.put_peering_request(&pending)?;
        tx.put_grant(&g)?;
        tx.put_connection(&conn)
    });
    let r = fx.store().read().unwrap();
    assert_eq!(r.org_by_slug("beta").unwrap().unwrap().id, b.id);
    assert_eq!(r.org_by_slug("nope").unwrap(), None);
    assert_eq!(
        r.user_by_email("alice@ACME.test").unwrap().unwrap().id,
        alice.id
    );
    assert_eq!(r.users_of_org(&a.id).unwrap(), vec![alice.clone()]);
    assert_eq!(r.count_servers_of_org(&a.id).unwrap(), 2);
    assert_eq!(r.count_servers_of_org(&c.id).unwrap(), 0);
    assert_eq!(r.count_channels_of_server(&s1.id).unwrap(), 2);
    assert_eq!(r.count_channels_of_server(&s2.id).unwrap(), 0);
    // Peers: the self-agreement does not count.
    assert_eq!(r.count_active_peer_agreements(&a.id).unwrap(), 2);
    assert_eq!(r.count_active_peer_agreements(&b.id).unwrap(), 1);
    assert_eq!(r.agreements_of_org(&a.id).unwrap().len(), 3);
    assert_eq!(
        r.active_agreement_between(&b.id, &a.id)
            .unwrap()
            .unwrap()
            .id,
        ab.id
    );
    assert_eq!(r.active_agreement_between(&b.id, &c.id).unwrap(), None);
    assert_eq!(r.active_self_agreement(&a.id).unwrap().unwrap().id, aa.id);
    assert_eq!(r.active_self_agreement(&b.id).unwrap(), None);
    assert_eq!(
        r.pending_request_between(&a.id, &c.id).unwrap().unwrap().id,
        pending.id
    );
    assert_eq!(r.pending_request_between(&c.id, &a.id).unwrap(), None);
    assert_eq!(r.peering_outbox(&a.id).unwrap(), vec![pending.clone()]);
    assert_eq!(r.peering_inbox(&c.id).unwrap(), vec![pending.clone()]);
    assert_eq!(r.grants_of_org(&b.id).unwrap(), vec![g.clone()]);
    assert_eq!(r.grants_of_org(&a.id).unwrap(), vec![g.clone()]);
    assert_eq!(r.grants_of_channel(&ch1.id).unwrap(), vec![g.clone()]);
    assert_eq!(r.grants_of_agreement(&ab.id).unwrap(), vec![g.clone()]);
    for server in [&s1, &sb] {
        assert_eq!(
            r.connections_of_server(&server.id).unwrap(),
            vec![conn.clone()]
        );
    }
    assert!(r.connections_of_server(&s2.id).unwrap().is_empty());
    assert_eq!(r.connections_of_org(&b.id).unwrap(), vec![conn.clone()]);
    assert_eq!(r.connections_of_grant(&g.id).unwrap(), vec![conn.clone()]);
    assert_eq!(
        r.connections_of_agreement(&ab.id).unwrap(),
        vec![conn.clone()]
    );
}

#[test]
fn updates_and_deletes_move_index_entries() {
    let fx = Fixture::new();
    let a = org("acme");
    let b = org("beta");
    let s1 = server(&a.id);
    let s2 = server(&b.id);
    let ch = channel(&s1);
    let mut ab = agreement(&a.id, &b.id, AgreementStatus::Active);
    let mut pr = request(&a.id, &b.id, PeeringStatus::Pending);
    let mut conn = connection(&ab.id, None, &s2, &s1);
    fx.write(|tx| {
        tx.put_org(&a)?;
        tx.put_org(&b)?;
        tx.put_server(&s1)?;
        tx.put_server(&s2)?;
        tx.put_channel(&ch)?;
        tx.put_agreement(&ab)?;
        tx.put_peering_request(&pr)?;
        tx.put_connection(&conn)
    });
    // Revoking the agreement drops it from the active indexes, not from the party index.
    ab.status = AgreementStatus::Revoked;
    ab.revoked_at = Some(Utc::now());
    pr.status = PeeringStatus::Accepted;
    conn.status = ConnectionStatus::Terminated;
    fx.write(|tx| {
        tx.put_agreement(&ab)?;
        tx.put_peering_request(&pr)?;
        tx.put_connection(&conn)
    });
    let r = fx.store().read().unwrap();
    assert_eq!(r.count_active_peer_agreements(&a.id).unwrap(), 0);
    assert_eq!(r.active_agreement_between(&a.id, &b.id).unwrap(), None);
    assert_eq!(r.agreements_of_org(&a.id).unwrap(), vec![ab.clone()]);
    assert_eq!(r.pending_request_between(&a.id, &b.id).unwrap(), None);
    assert_eq!(r.peering_outbox(&a.id).unwrap(), vec![pr.clone()]);
    assert_eq!(
        r.connections_of_server(&s1.id).unwrap()[0].status,
        ConnectionStatus::Terminated
    );
    drop(r);
    // A new active agreement and pending request between the same pair are now allowed.
    let ab2 = agreement(&b.id, &a.id, AgreementStatus::Active);
    let pr2 = request(&a.id, &b.id, PeeringStatus::Pending);
    fx.write(|tx| {
        tx.put_agreement(&ab2)?;
        tx.put_peering_request(&pr2)
    });
    // Deletes.
    let deleted = fx.write(|tx| {
        Ok((
            tx.delete_channel(&ch.id)?,
            tx.delete_server(&s1.id)?,
            tx.delete_server(&s1.id)?,
        ))
    });
    assert_eq!(deleted, (true, true, false));
    let r = fx.store().read().unwrap();
    assert_eq!(r.count_servers_of_org(&a.id).unwrap(), 0);
    assert!(r.servers_of_org(&a.id).unwrap().is_empty());
    assert_eq!(r.count_channels_of_server(&s1.id).unwrap(), 0);
    assert_eq!(r.get_server(&s1.id).unwrap(), None);
    assert_eq!(r.count_active_peer_agreements(&a.id).unwrap(), 1);
}

#[test]
fn duplicate_slug_and_email_conflict_and_the_transaction_writes_nothing() {
    let fx = Fixture::new();
    let a = org("acme");
    let alice = user(&a.id, "alice@acme.test");
    fx.write(|tx| {
        tx.put_org(&a)?;
        tx.put_user(&alice)
    });

    let dup_org = org("acme");
    let other = org("other");
    let err = fx
        .store()
        .write(|tx| {
            tx.put_org(&other)?;
            tx.put_org(&dup_org)
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                what: "organization slug"
            }
        ),
        "{err}"
    );
    assert_eq!(err.to_string(), "organization slug already exists");

    let dup_user = user(&a.id, "ALICE@acme.test");
    let err = fx.store().write(|tx| tx.put_user(&dup_user)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }));
    assert!(!err.to_string().contains("alice"), "no PII in errors");

    let r = fx.store().read().unwrap();
    assert_eq!(
        r.get_org(&other.id).unwrap(),
        None,
        "aborted tx wrote nothing"
    );
    assert_eq!(r.org_by_slug("other").unwrap(), None);
    assert_eq!(r.org_by_slug("acme").unwrap().unwrap().id, a.id);
    assert_eq!(r.get_user(&dup_user.id).unwrap(), None);
    assert_eq!(r.users_of_org(&a.id).unwrap(), vec![alice.clone()]);
    drop(r);

    // A refused put changes nothing, so a closure may handle it and commit the rest.
    let third = org("third");
    fx.write(|tx| {
        tx.put_org(&third)?;
        assert!(matches!(
            tx.put_org(&dup_org),
            Err(StoreError::Conflict { .. })
        ));
        Ok(())
    });
    let r = fx.store().read().unwrap();
    assert_eq!(r.org_by_slug("third").unwrap().unwrap().id, third.id);
    assert_eq!(r.get_org(&dup_org.id).unwrap(), None);

    // Updating a user's own row (same e-mail) is not a conflict; changing it frees the old one.
    let mut renamed = alice.clone();
    renamed.email = "alice@new.test".to_owned();
    fx.write(|tx| tx.put_user(&renamed));
    let r = fx.store().read().unwrap();
    assert_eq!(r.user_by_email("alice@acme.test").unwrap(), None);
    assert_eq!(
        r.user_by_email("alice@new.test").unwrap().unwrap().id,
        alice.id
    );
}

#[test]
fn second_pending_request_and_second_active_agreement_conflict() {
    let fx = Fixture::new();
    let (a, b) = (OrgId::generate(), OrgId::generate());
    fx.write(|tx| {
        tx.put_peering_request(&request(&a, &b, PeeringStatus::Pending))?;
        tx.put_agreement(&agreement(&a, &a, AgreementStatus::Active))?;
        tx.put_agreement(&agreement(&a, &b, AgreementStatus::Active))
    });
    let store = fx.store();
    let pending = request(&a, &b, PeeringStatus::Pending);
    assert!(matches!(
        store.write(|tx| tx.put_peering_request(&pending)),
        Err(StoreError::Conflict { .. })
    ));
    // The opposite direction is another ordered pair.
    store
        .write(|tx| tx.put_peering_request(&request(&b, &a, PeeringStatus::Pending)))
        .unwrap();
    for dup in [
        agreement(&b, &a, AgreementStatus::Active),
        agreement(&a, &a, AgreementStatus::Active),
    ] {
        assert!(matches!(
            store.write(|tx| tx.put_agreement(&dup)),
            Err(StoreError::Conflict { .. })
        ));
    }
    store
        .write(|tx| tx.put_agreement(&agreement(&a, &b, AgreementStatus::Revoked)))
        .unwrap();
}

#[test]
fn notifications_newest_first_unread_filter_and_ownership() {
    let fx = Fixture::new();
    let a = OrgId::generate();
    let b = OrgId::generate();
    let ns: Vec<_> = (0..5).map(|i| notification(&a, i * 10)).collect();
    let other = notification(&b, 15);
    fx.write(|tx| {
        // Written out of order; listing orders by time.
        for n in ns.iter().rev() {
            tx.put_notification(n)?;
        }
        tx.put_notification(&other)
    });
    let r = fx.store().read().unwrap();
    let ids = |v: Vec<switchboard_domain::entities::Notification>| {
        v.into_iter().map(|n| n.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(r.notifications_for_org(&a, false, 3).unwrap()),
        vec![ns[4].id.clone(), ns[3].id.clone(), ns[2].id.clone()]
    );
    assert_eq!(r.notifications_for_org(&a, false, 0).unwrap(), vec![]);
    drop(r);
    let results = fx.write(|tx| {
        Ok((
            tx.mark_notification_read(&a, &ns[4].id)?,
            tx.mark_notification_read(&b, &ns[3].id)?,
            tx.mark_notification_read(&a, &other.id)?,
            tx.delete_notification(&ns[0].id)?,
        ))
    });
    assert_eq!(results, (true, false, false, true));
    let r = fx.store().read().unwrap();
    assert_eq!(
        ids(r.notifications_for_org(&a, true, 10).unwrap()),
        vec![ns[3].id.clone(), ns[2].id.clone(), ns[1].id.clone()]
    );
    assert_eq!(r.notifications_for_org(&a, false, 10).unwrap().len(), 4);
    assert!(r.get_notification(&ns[4].id).unwrap().unwrap().read);
    assert!(!r.get_notification(&other.id).unwrap().unwrap().read);
    assert_eq!(
        r.notifications_for_org(&b, true, 10).unwrap(),
        vec![other.clone()]
    );
}

#[test]
fn api_tokens_are_hashed_looked_up_and_removed_with_their_user() {
    let mut fx = Fixture::new();
    let a = org("acme");
    let alice = user(&a.id, "alice@acme.test");
    let bob = user(&a.id, "bob@acme.test");
    let (t1, t2, t3) = (
        ApiToken::generate(),
        ApiToken::generate(),
        ApiToken::generate(),
    );
    let rec = |u: &UserId| TokenRecord {
        user_id: u.clone(),
        created_at: at(0),
        label: Some("ci".to_owned()),
    };
    fx.write(|tx| {
        tx.put_org(&a)?;
        tx.put_user(&alice)?;
        tx.put_user(&bob)?;
        tx.put_api_token(&t1, &rec(&alice.id))?;
        tx.put_api_token(&t2, &rec(&alice.id))?;
        tx.put_api_token(&t3, &rec(&bob.id))
    });
    fx.close();
    let bytes = std::fs::read(&fx.path).unwrap();
    for t in [&t1, &t2, &t3] {
        let body = &t.as_str().as_bytes()[4..];
        assert!(
            !bytes.windows(body.len()).any(|w| w == body),
            "token stored in clear"
        );
    }
    fx.reopen();
    let r = fx.store().read().unwrap();
    assert_eq!(
        r.lookup_api_token(t1.as_str()).unwrap(),
        Some(rec(&alice.id))
    );
    assert_eq!(r.lookup_api_token("sbt_unknown").unwrap(), None);
    drop(r);
    let removed = fx.write(|tx| tx.delete_user(&alice.id));
    assert!(removed);
    let r = fx.store().read().unwrap();
    assert_eq!(r.lookup_api_token(t1.as_str()).unwrap(), None);
    assert_eq!(r.lookup_api_token(t2.as_str()).unwrap(), None);
    assert_eq!(r.lookup_api_token(t3.as_str()).unwrap(), Some(rec(&bob.id)));
    assert_eq!(r.users_of_org(&a.id).unwrap(), vec![bob.clone()]);
    drop(r);
    assert!(fx.write(|tx| tx.delete_api_token(t3.as_str())));
    assert!(!fx.write(|tx| tx.delete_api_token(t3.as_str())));
    assert_eq!(fx.write(|tx| tx.delete_tokens_of_user(&bob.id)), 0);
}

#[test]
fn registration_tokens_single_use_and_deleted_per_connection() {
    let fx = Fixture::new();
    let conn = switchboard_domain::ids::ConnectionId::generate();
    let other = switchboard_domain::ids::ConnectionId::generate();
    let (t1, t2, t3) = (
        RegistrationToken::generate(),
        RegistrationToken::generate(),
        RegistrationToken::generate(),
    );
    let rec = |c: &switchboard_domain::ids::ConnectionId, generation| RegistrationRecord {
        connection_id: c.clone(),
        generation,
        expires_at: at(3600),
        used: false,
    };
    fx.write(|tx| {
        tx.put_registration_token(&t1, &rec(&conn, 0))?;
        tx.put_registration_token(&t2, &rec(&conn, 1))?;
        tx.put_registration_token(&t3, &rec(&other, 0))
    });
    assert!(fx.write(|tx| tx.mark_registration_token_used(t1.as_str())));
    assert!(!fx.write(|tx| tx.mark_registration_token_used("sbr_nope")));
    let r = fx.store().read().unwrap();
    let got = r.lookup_registration_token(t1.as_str()).unwrap().unwrap();
    assert!(got.used);
    assert_eq!(got.generation, 0);
    assert!(
        !r.lookup_registration_token(t2.as_str())
            .unwrap()
            .unwrap()
            .used
    );
    drop(r);
    assert_eq!(fx.write(|tx| tx.delete_registration_tokens_of(&conn)), 2);
    let r = fx.store().read().unwrap();
    assert_eq!(r.lookup_registration_token(t1.as_str()).unwrap(), None);
    assert_eq!(r.lookup_registration_token(t2.as_str()).unwrap(), None);
    assert!(r.lookup_registration_token(t3.as_str()).unwrap().is_some());
}

#[test]
fn apply_changes_commits_a_change_set_in_one_transaction() {
    let fx = Fixture::new();
    let (a, b) = (OrgId::generate(), OrgId::generate());
    let agr = agreement(&a, &b, AgreementStatus::Active);
    let mut changes = ChangeSet::default();
    changes.agreements.push(agr.clone());
    changes
        .requests
        .push(request(&a, &b, PeeringStatus::Accepted));
    changes.notifications.push(notification(&a, 1));
    changes.audit.push(audit_event(&[&a, &b], "peering.accept"));
    changes.audit.push(audit_event(&[&a], "notify"));
    let seqs = fx.write(|tx| tx.apply_changes(&changes));
    assert_eq!(seqs, vec![1, 2]);
    let r = fx.store().read().unwrap();
    assert_eq!(
        r.active_agreement_between(&a, &b).unwrap(),
        Some(agr.clone())
    );
    assert_eq!(r.audit_for_org(&b, None, 10).unwrap().len(), 1);
    assert_eq!(r.verify_audit().unwrap(), 2);
    drop(r);
    // A conflicting change set leaves nothing behind, audit included.
    let mut bad = ChangeSet::default();
    bad.audit.push(audit_event(&[&a], "first"));
    bad.agreements
        .push(agreement(&b, &a, AgreementStatus::Active));
    assert!(fx.store().write(|tx| tx.apply_changes(&bad)).is_err());
    let r = fx.store().read().unwrap();
    assert_eq!(r.audit_all(None, 10).unwrap().len(), 2);
    assert_eq!(r.verify_audit().unwrap(), 2);
}

#[test]
fn write_tx_sees_its_own_writes_and_err_aborts() {
    let fx = Fixture::new();
    let a = org("acme");
    #[derive(Debug)]
    enum AppError {
        Store,
        Refused,
    }
    impl From<StoreError> for AppError {
        fn from(_: StoreError) -> Self {
            AppError::Store
        }
    }
    let result: Result<(), AppError> = fx.store().write(|tx| {
        tx.put_org(&a)?;
        assert_eq!(tx.org_by_slug("acme")?.unwrap().id, a.id);
        Err(AppError::Refused)
    });
    assert!(matches!(result, Err(AppError::Refused)));
    assert_eq!(fx.store().read().unwrap().get_org(&a.id).unwrap(), None);
}
