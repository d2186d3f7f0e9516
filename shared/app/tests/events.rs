//! The audit log through the use cases: every change writes exactly one
//! event of its type, actor and member; each refusal of the SSO decision
//! table writes `sso.refused` with its code and nothing else; a refused
//! write writes no event; the log holds no secret; events expire.

#[macro_use]
mod support;

use admit_app::{
    Confirm, Error, EventFilter, EventView, PoliciesInput, SetupMasterPassword, SignInOutcome,
};
use admit_domain::{Actor, EventType, Kdf, MemberDecryption, Refusal, Role};
use std::collections::HashSet;
use support::{Org, World, identity, keys, password, setup_token};
use time::Duration;

/// The whole log of `org`, newest first, as its owner reads it.
async fn log(w: &World, org: &Org) -> Vec<EventView> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = w
            .app
            .list_events(
                &org.owner,
                &org.id,
                EventFilter {
                    cursor,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        out.extend(page.events);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// Records what the log held, so each step can ask what it added.
struct Watch {
    seen: HashSet<String>,
}

impl Watch {
    async fn new(w: &World, org: &Org) -> Watch {
        Watch {
            seen: log(w, org).await.into_iter().map(|e| e.id).collect(),
        }
    }

    /// The events written since the last call.
    async fn added(&mut self, w: &World, org: &Org) -> Vec<EventView> {
        let new: Vec<EventView> = log(w, org)
            .await
            .into_iter()
            .filter(|e| !self.seen.contains(&e.id))
            .collect();
        self.seen.extend(new.iter().map(|e| e.id.clone()));
        new
    }

    /// Exactly one event was written since the last call, of `kind`
    /// concerning `member`; returns it.
    async fn one(
        &mut self,
        w: &World,
        org: &Org,
        kind: EventType,
        member: Option<&str>,
    ) -> EventView {
        let mut new = self.added(w, org).await;
        assert_eq!(
            new.iter().map(|e| e.kind).collect::<Vec<_>>(),
            vec![kind],
            "exactly one {kind} event"
        );
        let e = new.pop().unwrap();
        assert_eq!(e.member_id.as_deref(), member, "{kind} concerns its member");
        e
    }

    async fn none(&mut self, w: &World, org: &Org, after: &str) {
        let new = self.added(w, org).await;
        assert!(new.is_empty(), "{after} wrote no event: {new:?}");
    }
}

fn by(e: &EventView, user: &admit_domain::UserId) {
    match &e.actor {
        Actor::User { user_id, .. } => {
            assert_eq!(user_id.as_ref(), Some(user), "{} is by {user}", e.kind)
        }
        other => panic!("{} is by a user, not {other:?}", e.kind),
    }
}

#[tokio::test]
async fn every_change_writes_exactly_one_event_of_its_type_actor_and_member() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let owner = &acme.owner.user_id;

    // The operator's creation and the owner's acceptance, oldest last.
    let start = log(&w, &acme).await;
    let kinds: Vec<EventType> = start.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventType::MemberAccepted, EventType::OrgCreated]);
    assert_eq!(start[1].actor, Actor::Operator);
    assert_eq!(start[1].member_id.as_deref(), Some(&*acme.owner_member_id));
    by(&start[0], owner);
    assert_eq!(start[0].details.via.as_deref(), Some("invitation"));
    let mut watch = Watch::new(&w, &acme).await;

    let invited = w
        .invite(&acme.owner, &acme, &["ann@example.com"], Role::Admin)
        .await
        .unwrap();
    let ann = invited.invited[0].member_id.clone();
    let e = watch
        .one(&w, &acme, EventType::MemberInvited, Some(&ann))
        .await;
    by(&e, owner);
    assert_eq!(e.details.role, Some(Role::Admin));
    assert_eq!(
        e.details.email.as_ref().map(|e| e.as_str()),
        Some("ann@example.com")
    );

    w.app.reinvite(&acme.owner, &acme.id, &ann).await.unwrap();
    by(
        &watch
            .one(&w, &acme, EventType::MemberReinvited, Some(&ann))
            .await,
        owner,
    );

    let accepted = w
        .app
        .accept_invitation(support::accept_new(&w.token_for("ann@example.com"), 'A'))
        .await
        .unwrap();
    let e = watch
        .one(&w, &acme, EventType::MemberAccepted, Some(&ann))
        .await;
    let ann_user = w.login("ann@example.com", 'A').await.user_id;
    by(&e, &ann_user);
    assert_eq!(accepted.member_id, ann);

    w.app
        .confirm(&acme.owner, &acme.id, &ann, Confirm { key: "k".into() })
        .await
        .unwrap();
    let e = watch
        .one(&w, &acme, EventType::MemberConfirmed, Some(&ann))
        .await;
    by(&e, owner);
    assert!(e.details.key_handed_over);

    w.app.revoke(&acme.owner, &acme.id, &ann).await.unwrap();
    watch
        .one(&w, &acme, EventType::MemberRevoked, Some(&ann))
        .await;
    w.app.restore(&acme.owner, &acme.id, &ann).await.unwrap();
    watch
        .one(&w, &acme, EventType::MemberRestored, Some(&ann))
        .await;

    w.app
        .set_policies(
            &acme.owner,
            &acme.id,
            PoliciesInput {
                require_sso: Some(true),
                jit_without_invitation: None,
            },
        )
        .await
        .unwrap();
    let e = watch.one(&w, &acme, EventType::PoliciesChanged, None).await;
    assert_eq!(e.details.changed, ["policies.require_sso"]);

    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    let e = watch
        .one(&w, &acme, EventType::SsoSettingsChanged, None)
        .await;
    by(&e, owner);
    for name in ["sso", "sso_enabled"] {
        assert!(
            e.details
                .changed
                .iter()
                .any(|c| c == name || c.starts_with(&format!("{name}."))),
            "{name} in {:?}",
            e.details.changed
        );
    }

    // The operator's claim adds the domain, then verifies it: two writes.
    w.app
        .claim_domain(&acme.id, "acme.example.com", false)
        .await
        .unwrap();
    let e = watch.one(&w, &acme, EventType::DomainAdded, None).await;
    assert_eq!(
        (e.actor.clone(), e.details.domain.as_deref()),
        (Actor::Operator, Some("acme.example.com"))
    );
    w.app
        .claim_domain(&acme.id, "acme.example.com", true)
        .await
        .unwrap();
    let e = watch.one(&w, &acme, EventType::DomainVerified, None).await;
    assert_eq!(
        (e.actor.clone(), e.details.domain.as_deref()),
        (Actor::Operator, Some("acme.example.com"))
    );
    // Claiming it again as it is changes nothing and records nothing.
    w.app
        .claim_domain(&acme.id, "acme.example.com", true)
        .await
        .unwrap();
    watch.none(&w, &acme, "an unchanged claim").await;

    // SSO: just in time, the setup step, a sign-in.
    let who = || identity("sub-jit", Some("jit@acme.example.com"), true);
    let token = setup_token(w.oidc_sign_in(&acme, None, who()).await);
    let jit = w.member(&acme, "jit@acme.example.com").await.unwrap();
    let e = watch
        .one(&w, &acme, EventType::SsoJitCreated, Some(&jit.member_id))
        .await;
    assert_eq!(
        (e.details.protocol.as_deref(), e.details.via.as_deref()),
        (Some("oidc"), Some("domain"))
    );
    w.app
        .setup_master_password(SetupMasterPassword {
            setup_token: token,
            master_password_hash: password('J'),
            kdf: Kdf::DEFAULT,
            keys: keys(),
        })
        .await
        .unwrap();
    let e = watch
        .one(&w, &acme, EventType::MemberAccepted, Some(&jit.member_id))
        .await;
    assert_eq!(e.details.via.as_deref(), Some("setup"));
    match w.oidc_sign_in(&acme, None, who()).await {
        Ok(SignInOutcome::SignedIn(_)) => {}
        Ok(SignInOutcome::Setup { .. }) => panic!("signed in, not the setup step"),
        Err(e) => panic!("signed in, not {e:?}"),
    }
    watch
        .one(&w, &acme, EventType::SsoSignedIn, Some(&jit.member_id))
        .await;

    w.app
        .remove_member(&acme.owner, &acme.id, &ann)
        .await
        .unwrap();
    watch
        .one(&w, &acme, EventType::MemberRemoved, Some(&ann))
        .await;

    // Logging in changes nothing; a wrong password is on the record.
    w.login("jit@acme.example.com", 'J').await;
    watch.none(&w, &acme, "a sign-in").await;
    assert_err!(
        w.app
            .login(admit_app::Login {
                email: "jit@acme.example.com".into(),
                master_password_hash: password('X'),
            })
            .await,
        Error::WrongCredentials
    );
    let e = watch
        .one(&w, &acme, EventType::AuthLoginFailed, Some(&jit.member_id))
        .await;
    assert!(matches!(e.actor, Actor::User { .. }));
    // An unknown email records nothing anywhere.
    assert_err!(
        w.app
            .login(admit_app::Login {
                email: "nobody@acme.example.com".into(),
                master_password_hash: password('X'),
            })
            .await,
        Error::WrongCredentials
    );
    watch.none(&w, &acme, "an unknown email's login").await;
}

#[tokio::test]
async fn a_failed_login_is_recorded_where_the_account_is_a_member() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let globex = w.org("Globex", "globex").await;
    let initech = w.org("Initech", "initech").await;
    let a = w
        .accepted_member(&acme, "pat@example.com", Role::User, 'P')
        .await;
    let g = w
        .accepted_member(&globex, "pat@example.com", Role::User, 'P')
        .await;
    // Only invited in Initech: not an accepted member there.
    w.invite(&initech.owner, &initech, &["pat@example.com"], Role::User)
        .await
        .unwrap();
    let mut watches = [
        Watch::new(&w, &acme).await,
        Watch::new(&w, &globex).await,
        Watch::new(&w, &initech).await,
    ];
    assert_err!(
        w.app
            .login(admit_app::Login {
                email: "pat@example.com".into(),
                master_password_hash: password('Q'),
            })
            .await,
        Error::WrongCredentials
    );
    watches[0]
        .one(&w, &acme, EventType::AuthLoginFailed, Some(&a))
        .await;
    watches[1]
        .one(&w, &globex, EventType::AuthLoginFailed, Some(&g))
        .await;
    watches[2].none(&w, &initech, "a failed login").await;
}

#[tokio::test]
async fn each_refusal_of_the_decision_table_writes_sso_refused_with_its_code_and_nothing_else() {
    let w = World::new();
    let acme = w.org_with_seats("Acme", "acme", Some(3), None).await;
    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    let other = w.org("Other", "other").await;
    w.accepted_member(&other, "pat@example.com", Role::User, 'P')
        .await;
    let mut watch = Watch::new(&w, &acme).await;

    let refused = async |watch: &mut Watch, who, refusal: Refusal| {
        let members = w.members(&acme.owner, &acme).await.len();
        let seats = w.occupied_seats(&acme).await;
        match w.oidc_sign_in(&acme, None, who).await {
            Err(Error::Refused(r)) => assert_eq!(r, refusal),
            Err(e) => panic!("expected {refusal:?}, got {e:?}"),
            Ok(_) => panic!("expected {refusal:?}, got a sign-in"),
        }
        let new = watch.added(&w, &acme).await;
        assert_eq!(new.len(), 1, "one event for {refusal:?}: {new:?}");
        assert_eq!(new[0].kind, EventType::SsoRefused);
        assert_eq!(new[0].details.code.as_deref(), Some(refusal.code()));
        assert_eq!(new[0].details.protocol.as_deref(), Some("oidc"));
        assert_eq!(w.members(&acme.owner, &acme).await.len(), members);
        assert_eq!(w.occupied_seats(&acme).await, seats);
        new.into_iter().next().unwrap()
    };

    // Rows 14, 13: no email, an unverified one.
    refused(
        &mut watch,
        identity("s14", None, true),
        Refusal::EmailMissing,
    )
    .await;
    let e = refused(
        &mut watch,
        identity("s13", Some("u@acme.example.com"), false),
        Refusal::EmailUnverified,
    )
    .await;
    assert_eq!(
        e.actor,
        Actor::User {
            user_id: None,
            email: Some(admit_domain::Email::parse("u@acme.example.com").unwrap())
        }
    );
    // Row 8: an account without a membership here.
    let pat = || identity("sub-pat", Some("pat@example.com"), true);
    refused(&mut watch, pat(), Refusal::MembershipRequired).await;
    // Row 6: invited, not accepted yet.
    w.invite(&acme.owner, &acme, &["pat@example.com"], Role::User)
        .await
        .unwrap();
    watch.added(&w, &acme).await;
    let e = refused(&mut watch, pat(), Refusal::InviteAcceptanceRequired).await;
    let pat_member = w.member(&acme, "pat@example.com").await.unwrap().member_id;
    assert_eq!(e.member_id.as_deref(), Some(&*pat_member));
    // Row 7: accepted, not confirmed.
    w.app
        .accept_invitation(support::accept_existing(
            &w.token_for("pat@example.com"),
            'P',
        ))
        .await
        .unwrap();
    watch.added(&w, &acme).await;
    refused(&mut watch, pat(), Refusal::ConfirmationRequired).await;
    // Row 12: JIT without invitation off.
    w.app
        .set_policies(
            &acme.owner,
            &acme.id,
            PoliciesInput {
                require_sso: None,
                jit_without_invitation: Some(false),
            },
        )
        .await
        .unwrap();
    watch.added(&w, &acme).await;
    refused(
        &mut watch,
        identity("s12", Some("new@acme.example.com"), true),
        Refusal::InvitationRequired,
    )
    .await;
    w.app
        .set_policies(
            &acme.owner,
            &acme.id,
            PoliciesInput {
                require_sso: None,
                jit_without_invitation: Some(true),
            },
        )
        .await
        .unwrap();
    watch.added(&w, &acme).await;
    // Row 11: the last seat goes to the first; the second finds none.
    setup_token(
        w.oidc_sign_in(
            &acme,
            None,
            identity("s10", Some("first@acme.example.com"), true),
        )
        .await,
    );
    watch.added(&w, &acme).await;
    refused(
        &mut watch,
        identity("s11", Some("second@acme.example.com"), true),
        Refusal::NoSeats,
    )
    .await;
    // Rows 3 and 4: a linked identity whose membership is revoked, then gone.
    let first = w.member(&acme, "first@acme.example.com").await.unwrap();
    w.app
        .revoke(&acme.owner, &acme.id, &first.member_id)
        .await
        .unwrap();
    watch.added(&w, &acme).await;
    refused(
        &mut watch,
        identity("s10", Some("first@acme.example.com"), true),
        Refusal::Revoked,
    )
    .await;
}

#[tokio::test]
async fn a_refused_write_writes_no_event() {
    let w = World::new();
    let acme = w.org_with_seats("Acme", "acme", Some(2), None).await;
    let ann = w
        .invite(&acme.owner, &acme, &["ann@example.com"], Role::User)
        .await
        .unwrap()
        .invited[0]
        .member_id
        .clone();
    let mut watch = Watch::new(&w, &acme).await;
    // Not accepted: no confirmation, no event.
    assert_err!(
        w.app
            .confirm(&acme.owner, &acme.id, &ann, Confirm { key: "k".into() })
            .await,
        Error::Conflict(_)
    );
    // Full: no invitation, no event.
    assert_err!(
        w.invite(&acme.owner, &acme, &["bob@example.com"], Role::User)
            .await,
        Error::NoSeats
    );
    // Restoring a member who is not revoked.
    assert_err!(
        w.app.restore(&acme.owner, &acme.id, &ann).await,
        Error::Conflict(_)
    );
    watch.none(&w, &acme, "refused writes").await;
}

#[tokio::test]
async fn the_log_is_for_administrators_of_its_organization_and_filters_what_it_reads() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let globex = w.org("Globex", "globex").await;
    let (_, user) = w
        .confirmed_member(&acme, "u@example.com", Role::User, 'U')
        .await;
    let list = |who: &admit_app::Principal, org: &str, filter: EventFilter| {
        let (who, org) = (who.clone(), org.to_owned());
        let app = w.app.clone();
        async move { app.list_events(&who, &org, filter).await }
    };
    assert_err!(
        list(&user, &acme.id, EventFilter::default()).await,
        Error::Forbidden
    );
    assert_err!(
        list(&globex.owner, &acme.id, EventFilter::default()).await,
        Error::NotFound
    );
    for bad in [
        EventFilter {
            kind: Some("member.exploded".into()),
            ..Default::default()
        },
        EventFilter {
            start: Some("yesterday".into()),
            ..Default::default()
        },
        EventFilter {
            member: Some("bob".into()),
            ..Default::default()
        },
        EventFilter {
            cursor: Some("not-a-cursor".into()),
            ..Default::default()
        },
        EventFilter {
            start: Some("2031-03-04T00:00:00Z".into()),
            end: Some("2031-03-03T00:00:00Z".into()),
            ..Default::default()
        },
    ] {
        assert_err!(
            list(&acme.owner, &acme.id, bad.clone()).await,
            Error::InvalidRequest(_)
        );
    }

    // Globex's events never show in Acme's log.
    let globex_ids = log_ids_of(&w, &globex).await;
    assert!(!globex_ids.is_empty());
    let acme_log = log(&w, &acme).await;
    assert!(acme_log.iter().all(|e| !globex_ids.contains(&e.id)));
    // Later events, an hour apart: the time filter reads the range only.
    w.advance(Duration::hours(1));
    let later = w.now();
    w.invite(&acme.owner, &acme, &["late@example.com"], Role::User)
        .await
        .unwrap();
    let page = list(
        &acme.owner,
        &acme.id,
        EventFilter {
            start: Some(later.rfc3339()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        page.events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [EventType::MemberInvited]
    );
    let page = list(
        &acme.owner,
        &acme.id,
        EventFilter {
            end: Some((later - Duration::seconds(1)).rfc3339()),
            kind: Some("member.confirmed".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page.events.len(), 1);
}

async fn log_ids_of(w: &World, org: &Org) -> HashSet<String> {
    log(w, org).await.into_iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn reminders_are_on_the_record_by_the_system() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    let ann = w
        .invite(&acme.owner, &acme, &["ann@example.com"], Role::User)
        .await
        .unwrap()
        .invited[0]
        .member_id
        .clone();
    let mut watch = Watch::new(&w, &acme).await;
    w.advance(Duration::days(2));
    assert_eq!(w.app.run_owed_mail(None).await.unwrap().reminded, 1);
    let e = watch
        .one(&w, &acme, EventType::MemberReminded, Some(&ann))
        .await;
    assert_eq!(e.actor, Actor::System);
}

#[tokio::test]
async fn no_secret_is_in_the_log_and_events_expire_after_the_retention() {
    let w = World::new();
    let acme = w.org("Acme", "acme").await;
    w.enable_oidc(&acme, MemberDecryption::MasterPassword).await;
    let token = {
        w.invite(&acme.owner, &acme, &["ann@example.com"], Role::User)
            .await
            .unwrap();
        w.token_for("ann@example.com")
    };
    let setup = setup_token(
        w.oidc_sign_in(
            &acme,
            Some(&token),
            identity("sub-ann", Some("ann@example.com"), true),
        )
        .await,
    );
    let done = w
        .app
        .setup_master_password(SetupMasterPassword {
            setup_token: setup.clone(),
            master_password_hash: password('A'),
            kdf: Kdf::DEFAULT,
            keys: keys(),
        })
        .await
        .unwrap();
    w.app
        .confirm(
            &acme.owner,
            &acme.id,
            &done.member_id,
            Confirm {
                key: "the-organization-key-for-ann".into(),
            },
        )
        .await
        .unwrap();
    let json = serde_json::to_string(&log(&w, &acme).await).unwrap();
    assert!(json.contains("member.confirmed"), "the log is read: {json}");
    let secrets = [
        token.as_str(),
        setup.as_str(),
        done.session_token.as_str(),
        &password('A'),
        &password('O'),
        "client-secret",
        "the-organization-key-for-ann",
        &keys().encrypted_private_key,
    ];
    for secret in secrets {
        assert!(!json.contains(secret), "{secret:?} is in the log");
    }

    // A year later (and a day), the sweep removes them.
    w.advance(Duration::days(366));
    let swept = w.app.sweep_expired().await.unwrap();
    assert!(swept.events >= 5, "{swept:?}");
    assert!(log(&w, &acme).await.is_empty());
}
