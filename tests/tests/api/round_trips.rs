//! AWS round trips per API operation, counted on the wire between Admit and
//! moto and pinned here: a change that adds a DynamoDB or SES call to an
//! operation fails this test until the table below (and BENCHMARKS.md) says
//! why. The goal is one write per state change and no read the decision
//! does not need.

use crate::helpers::*;
use crate::sso_oidc::{set_master_password, setup_token, sso_org};
use admit_tests::dns::DnsServer;
use admit_tests::moto::Moto;
use admit_tests::oidc::Browser;
use admit_tests::wire::{Calls, CountingProxy};
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

/// What each operation costs. Reads: `GetItem`, `Query`,
/// `BatchGetItem`; writes: `PutItem`, `UpdateItem`, `TransactWriteItems`.
const PINNED: &[(&str, &str)] = &[
    (
        "invite 1 email",
        "dynamodb:BatchGetItem×2 dynamodb:GetItem×4 dynamodb:PutItem×1 dynamodb:TransactWriteItems×1 ses:SendEmail×1",
    ),
    (
        "invite 100 emails",
        // One BatchGetItem of the 100 member keys finds who is a member
        // already (it was one per chunk of 99 before the store said how many
        // new memberships one write takes). Three transactions (49 + 49 + 2,
        // was 99 + 1): each membership rides with its `member.invited`
        // event, so a transaction of 100 items holds the seat count and 49.
        "dynamodb:BatchGetItem×2 dynamodb:GetItem×4 dynamodb:PutItem×100 dynamodb:TransactWriteItems×3 ses:SendEmail×100",
    ),
    // The endpoints that check a token or a secret count the request against
    // the client's address: one UpdateItem (`ADD attempts 1`) each.
    (
        "invitation lookup",
        "dynamodb:GetItem×3 dynamodb:UpdateItem×1",
    ),
    (
        "accept (new account)",
        "dynamodb:GetItem×3 dynamodb:PutItem×1 dynamodb:Query×2 dynamodb:TransactWriteItems×1 dynamodb:UpdateItem×1 ses:SendEmail×1",
    ),
    (
        "sso start",
        "dynamodb:GetItem×3 dynamodb:PutItem×1 dynamodb:UpdateItem×1",
    ),
    (
        "sso callback (JIT account)",
        "dynamodb:DeleteItem×1 dynamodb:GetItem×6 dynamodb:PutItem×1 dynamodb:TransactWriteItems×1",
    ),
    (
        "setup master password",
        "dynamodb:GetItem×4 dynamodb:PutItem×2 dynamodb:Query×1 dynamodb:TransactWriteItems×1 dynamodb:UpdateItem×1 ses:SendEmail×1",
    ),
    (
        // A scoped session's request reads the session and the membership
        // it signed in through, now recorded in the session (it read the
        // account first to find it: GetItem×5 before). `/me` then reads the
        // account, its memberships (the Query), their organization and its
        // SCIM groups (the second Query: each membership's `groups`).
        "me (SSO session)",
        "dynamodb:GetItem×4 dynamodb:Query×2",
    ),
    (
        // A linked, accepted member signs in (row 1) with groups that
        // differ from those stored: the groups' write with its event is
        // one more TransactWriteItems.
        "sso callback (groups changed)",
        "dynamodb:DeleteItem×1 dynamodb:GetItem×5 dynamodb:TransactWriteItems×2",
    ),
    (
        "confirm",
        // The confirmation's conditional PutItem is now a TransactWriteItems
        // of it and its `member.confirmed` event; the other PutItem records
        // the member's notice as sent (no event).
        "dynamodb:GetItem×5 dynamodb:PutItem×1 dynamodb:TransactWriteItems×1 ses:SendEmail×1",
    ),
    (
        // The second Query reads the organization's SCIM groups (each
        // member's `groups`).
        "list members (first page)",
        "dynamodb:GetItem×4 dynamodb:Query×2",
    ),
    (
        // Authentication's 4 reads, then one Query of the organization's
        // events partition, newest first (a full page: 100 of its 105).
        "list events (first page)",
        "dynamodb:GetItem×4 dynamodb:Query×1",
    ),
    (
        // Authentication's 4 reads, whether this organization added it
        // already; the domain and its event in one transaction.
        "add domain",
        "dynamodb:GetItem×5 dynamodb:TransactWriteItems×1",
    ),
    (
        // Authentication's 4 reads, the domain, its holder; one transaction:
        // the domain verified, the holder, the event.
        "verify domain",
        "dynamodb:GetItem×6 dynamodb:TransactWriteItems×1",
    ),
    (
        // Run through `POST /operator/owed-mail/run`: the operator token's
        // check reads the caller's address budget first (one GetItem), so a
        // right token is refused too once wrong ones spent it. EventBridge's
        // runs make no such read.
        // The second Query reads the domains to re-check (none).
        "remind run, nothing due",
        "dynamodb:GetItem×1 dynamodb:Query×2 ses:GetAccount×1",
    ),
    (
        "remind run, 100 reminders + 1 digest",
        // Each reminder's delivery record (was a conditional PutItem) is a
        // TransactWriteItems with its `member.reminded` event: 100 of the
        // 204 PutItems. Its claim and the digest's 4 writes carry none.
        // One Query more than before domains: the domains to re-check.
        "dynamodb:BatchGetItem×2 dynamodb:GetItem×4 dynamodb:PutItem×104 dynamodb:Query×6 dynamodb:TransactWriteItems×100 ses:GetAccount×1 ses:SendEmail×101",
    ),
    (
        // The re-check index's one Query finds it; one DNS lookup (no AWS
        // call); one transaction verifies it as `verify domain` does.
        "remind run, 1 domain verified",
        "dynamodb:GetItem×1 dynamodb:Query×2 dynamodb:TransactWriteItems×1 ses:GetAccount×1",
    ),
    (
        // The address budget and the organization (the token), the userName
        // guard, the membership; the invitation exactly as an admin's (its
        // two batched reads, its transaction, the first send and its
        // record), the membership read back; the user and its guard with
        // `scim.user_created` in one transaction.
        "scim create user",
        "dynamodb:BatchGetItem×2 dynamodb:GetItem×5 dynamodb:PutItem×1 dynamodb:TransactWriteItems×2 ses:SendEmail×1",
    ),
    (
        // The token's 2 reads, the guard and the user; its membership
        // (`active`) and the groups (`groups`).
        "scim find user by userName",
        "dynamodb:BatchGetItem×1 dynamodb:GetItem×4 dynamodb:Query×1",
    ),
    (
        // The token's 2 reads, the user, its membership and the groups; the
        // revocation (a seat freed) and the record, a transaction each; the
        // membership read back for `active`.
        "scim deactivate user",
        "dynamodb:GetItem×5 dynamodb:Query×1 dynamodb:TransactWriteItems×2",
    ),
    (
        // The token's 2 reads, the organization's users (members must be
        // its users); the group with its event.
        "scim create group",
        "dynamodb:GetItem×2 dynamodb:Query×1 dynamodb:TransactWriteItems×1",
    ),
    (
        // Authentication's reads, then the newest event of each of SCIM's
        // six change types (one Query of one item each).
        "scim status (console)",
        "dynamodb:GetItem×4 dynamodb:Query×6",
    ),
];

/// The function that serves each operation on AWS. The owed-mail run is
/// both the schedule's (`remind`) and the operator route's (`invite`).
const SERVED_BY: &[(&str, &[&str])] = &[
    ("invite 1 email", &["InviteFunction"]),
    ("invite 100 emails", &["InviteFunction"]),
    ("invitation lookup", &["AcceptFunction"]),
    ("accept (new account)", &["AcceptFunction"]),
    ("sso start", &["SsoCallbackFunction"]),
    ("sso callback (JIT account)", &["SsoCallbackFunction"]),
    ("setup master password", &["AcceptFunction"]),
    ("me (SSO session)", &["AcceptFunction"]),
    ("sso callback (groups changed)", &["SsoCallbackFunction"]),
    ("confirm", &["ConfirmFunction"]),
    ("list members (first page)", &["InviteFunction"]),
    ("list events (first page)", &["InviteFunction"]),
    ("add domain", &["InviteFunction"]),
    ("verify domain", &["InviteFunction"]),
    (
        "remind run, nothing due",
        &["InviteFunction", "RemindFunction"],
    ),
    (
        "remind run, 100 reminders + 1 digest",
        &["InviteFunction", "RemindFunction"],
    ),
    (
        "remind run, 1 domain verified",
        &["InviteFunction", "RemindFunction"],
    ),
    ("scim create user", &["ScimFunction"]),
    ("scim find user by userName", &["ScimFunction"]),
    ("scim deactivate user", &["ScimFunction"]),
    ("scim create group", &["ScimFunction"]),
    ("scim status (console)", &["InviteFunction"]),
];

/// The actions (`dynamodb:`, `ses:`, `kms:`, ...) `function`'s policies in
/// `infra/template.yaml` allow.
fn allowed_actions(function: &str) -> std::collections::BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let yaml: serde_norway::Value = serde_norway::from_str(&text).expect("the template is YAML");
    let template = serde_json::to_value(yaml).expect("the template converts to JSON");
    let policies = &template["Resources"][function]["Properties"]["Policies"];
    assert!(policies.is_array(), "{function} has policies");
    let mut out = std::collections::BTreeSet::new();
    collect_actions(policies, &mut out);
    out
}

fn collect_actions(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("Action", serde_json::Value::String(a)) => {
                        out.insert(a.clone());
                    }
                    ("Action", serde_json::Value::Array(list)) => {
                        out.extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned)));
                    }
                    _ => collect_actions(v, out),
                }
            }
        }
        serde_json::Value::Array(list) => list.iter().for_each(|v| collect_actions(v, out)),
        _ => {}
    }
}

struct Meter<'a> {
    proxy: &'a CountingProxy,
    /// Each operation's calls and the IAM actions they needed.
    seen: Vec<(String, Calls, Calls)>,
}

impl Meter<'_> {
    fn mark(&self) -> (Calls, Calls) {
        (self.proxy.calls(), self.proxy.actions())
    }

    fn record(&mut self, name: &str, before: &(Calls, Calls)) {
        let calls = self.proxy.calls().since(&before.0);
        let actions = self.proxy.actions().since(&before.1);
        self.seen.push((name.to_owned(), calls, actions));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_calls_per_operation_are_pinned() {
    let proxy = CountingProxy::start(&Moto::shared().endpoint).await;
    let mut dns = DnsServer::start(&[]);
    let dns_addr = dns.addr();
    let app = spawn_app_counted(&proxy, move |s| s.dns_server = Some(dns_addr)).await;
    // Password invitations in one organization, SSO in another (an SSO
    // organization refuses password accepts of new accounts).
    let (org, session) = &app.org_with_owner(json!({})).await;
    let sso = sso_org(&app, json!({})).await;
    let mut meter = Meter {
        proxy: &proxy,
        seen: Vec::new(),
    };

    let one = app.email("one");
    let t = meter.mark();
    let (s, body) = app.invite(org, session, &[&one], "user").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    meter.record("invite 1 email", &t);

    let hundred: Vec<String> = (0..100).map(|i| app.email(&format!("m{i:03}"))).collect();
    let refs: Vec<&str> = hundred.iter().map(String::as_str).collect();
    let t = meter.mark();
    let (s, body) = app.invite(org, session, &refs, "user").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    meter.record("invite 100 emails", &t);

    let token = app.last_mail_to(&one).await.accept_token();
    let t = meter.mark();
    let (s, body) = app
        .post("/invitations/lookup", None, json!({"token": token}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    meter.record("invitation lookup", &t);

    let t = meter.mark();
    let (s, body) = app.accept_latest(&one, "pw one", true).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    meter.record("accept (new account)", &t);

    let sso_member = &app.email("sso");
    let (s, body) = app
        .invite(&sso.org, &sso.session, &[sso_member], "user")
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let invitation = app.last_mail_to(sso_member).await.accept_token();
    let browser = Browser::new();
    let t = meter.mark();
    let start = app.url(&format!(
        "/sso/start?identifier={}&invitation={invitation}",
        sso.ident
    ));
    let at_callback = browser
        .sign_in(&start, sso_member, &app.url("/sso/oidc/callback"))
        .await;
    meter.record("sso start", &t);
    let t = meter.mark();
    let page = browser
        .get(at_callback.location.as_deref().expect("back to Admit"))
        .await;
    meter.record("sso callback (JIT account)", &t);
    let setup = setup_token(&page);
    let t = meter.mark();
    let (s, body) = set_master_password(&app, &setup, sso_member).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    meter.record("setup master password", &t);
    let sso_session = body["session_token"].as_str().unwrap().to_owned();
    let t = meter.mark();
    let (s, body) = app.get("/me", Some(&sso_session)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    meter.record("me (SSO session)", &t);

    // The organization reads groups at sign-in; the member's next sign-in
    // brings some (an accepted member: signed in, the groups written).
    let (s, config) = app
        .get(&format!("/orgs/{}/sso", sso.org), Some(&sso.session))
        .await;
    assert_eq!(s, StatusCode::OK, "{config}");
    let (s, body) = app
        .call(
            "PUT",
            &format!("/orgs/{}/sso", sso.org),
            Some(&sso.session),
            Some(json!({"protocol": "oidc", "issuer": config["issuer"], "client_id": config["client_id"],
                        "member_decryption": "master_password", "enabled": true, "groups_claim": "groups"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let browser = Browser::new();
    let start = app.url(&format!("/sso/start?identifier={}", sso.ident));
    let at_callback = browser
        .sign_in_with_groups(
            &start,
            sso_member,
            "eng,ops",
            &app.url("/sso/oidc/callback"),
        )
        .await;
    let t = meter.mark();
    let page = browser
        .get(at_callback.location.as_deref().expect("back to Admit"))
        .await;
    assert_eq!(page.status, StatusCode::FOUND, "signed in: {page:?}");
    meter.record("sso callback (groups changed)", &t);

    let id = app.member_id(org, session, &one).await;
    let t = meter.mark();
    app.confirm_member_id(org, session, &id).await;
    meter.record("confirm", &t);

    let t = meter.mark();
    let (s, body) = app
        .get(&format!("/orgs/{org}/members"), Some(session))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    meter.record("list members (first page)", &t);

    let t = meter.mark();
    let (s, body) = app.get(&format!("/orgs/{org}/events"), Some(session)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["events"].as_array().map(Vec::len), Some(100), "{body}");
    meter.record("list events (first page)", &t);

    let t = meter.mark();
    let (s, added) = app
        .post(
            &format!("/orgs/{org}/domains"),
            Some(session),
            json!({"domain": app.domain}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    meter.record("add domain", &t);
    let record = |d: &serde_json::Value| {
        (
            d["txt_name"].as_str().unwrap().to_owned(),
            d["txt_value"].as_str().unwrap().to_owned(),
        )
    };
    let (name, value) = record(&added);
    dns.set_records(&[(&name, &value)]);
    let t = meter.mark();
    let (s, body) = app
        .post(
            &format!("/orgs/{org}/domains/{}/verify", app.domain),
            Some(session),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    meter.record("verify domain", &t);
    let owner = app.owner_field(org, session, "email").await;

    let t = meter.mark();
    run(&app).await;
    meter.record("remind run, nothing due", &t);

    // Day 2: the first reminder of each of the 100 invitations still open,
    // and the SSO organization's digest (its member has waited a day).
    app.clock.advance(Duration::days(2) + Duration::minutes(1));
    let t = meter.mark();
    let summary = run(&app).await;
    assert_eq!(
        (summary["reminded"].as_u64(), summary["digests"].as_u64()),
        (Some(100), Some(1)),
        "{summary}"
    );
    meter.record("remind run, 100 reminders + 1 digest", &t);

    // A domain the job finds verified (sessions have expired meanwhile).
    let session = &app.login(&owner, "owner password").await;
    let job = format!("job.{}", app.domain);
    let (s, added) = app
        .post(
            &format!("/orgs/{org}/domains"),
            Some(session),
            json!({"domain": job}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{added}");
    let (job_name, job_value) = record(&added);
    dns.set_records(&[(&name, &value), (&job_name, &job_value)]);
    let t = meter.mark();
    let summary = run(&app).await;
    assert_eq!(
        summary["domains"],
        json!({"checked": 1, "verified": 1}),
        "{summary}"
    );
    meter.record("remind run, 1 domain verified", &t);

    // SCIM, as an IdP calls it.
    let (s, issued) = app
        .post(&format!("/orgs/{org}/scim/token"), Some(session), json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{issued}");
    let base = issued["base_url"].as_str().unwrap().to_owned();
    let token = issued["token"].as_str().unwrap().to_owned();
    let scim = |method: reqwest::Method, path: String, body: Option<serde_json::Value>| {
        let req = app
            .http
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token)
            .header("Content-Type", "application/scim+json");
        let req = match body {
            Some(b) => req.body(b.to_string()),
            None => req,
        };
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            (
                status,
                res.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let scim_email = app.email("scim.user");
    let t = meter.mark();
    let (s, user) = scim(
        reqwest::Method::POST,
        "/Users".into(),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": scim_email, "active": true,
            "emails": [{"value": scim_email, "type": "work", "primary": true}]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{user}");
    meter.record("scim create user", &t);
    let user_id = user["id"].as_str().unwrap().to_owned();
    let t = meter.mark();
    let (s, found) = scim(
        reqwest::Method::GET,
        format!("/Users?filter=userName%20eq%20%22{scim_email}%22"),
        None,
    )
    .await;
    assert_eq!(
        (s, found["totalResults"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{found}"
    );
    meter.record("scim find user by userName", &t);
    let t = meter.mark();
    let (s, body) = scim(
        reqwest::Method::PATCH,
        format!("/Users/{user_id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    meter.record("scim deactivate user", &t);
    let t = meter.mark();
    let (s, body) = scim(
        reqwest::Method::POST,
        "/Groups".into(),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering", "members": [{"value": user_id}]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    meter.record("scim create group", &t);
    let t = meter.mark();
    let (s, body) = app.get(&format!("/orgs/{org}/scim"), Some(session)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body["last_activity"]["type"], "scim.group_created",
        "{body}"
    );
    meter.record("scim status (console)", &t);

    let table = meter
        .seen
        .iter()
        .map(|(name, calls, _)| format!("{name:<28} {}", calls.describe()))
        .collect::<Vec<_>>()
        .join("\n");
    println!("{table}");
    let pinned = PINNED
        .iter()
        .map(|(name, calls)| format!("{name:<28} {calls}"))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        table, pinned,
        "AWS calls per operation changed; if intended, update PINNED and BENCHMARKS.md"
    );

    // Every call each operation makes, its function's IAM policy allows
    // (moto checks no IAM: without this, a missing action fails on AWS only).
    let mut missing = Vec::new();
    for (name, _, actions) in &meter.seen {
        let (_, functions) = SERVED_BY
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("SERVED_BY names {name}"));
        for function in *functions {
            let allowed = allowed_actions(function);
            for action in actions.0.keys() {
                if !allowed.contains(action) {
                    missing.push(format!("{function} lacks {action} ({name})"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "infra/template.yaml: {missing:#?}");
}

async fn run(app: &TestApp) -> serde_json::Value {
    let (s, body) = app
        .post("/operator/owed-mail/run", Some(OPERATOR_TOKEN), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

/// The KMS key that seals stored secrets, by least privilege. Its calls
/// never cross the counting proxy above: the tests' Admit is `admit serve`,
/// which seals with its key file; `admit-lambda`'s KMS box is tested on
/// moto's KMS (infra/lambda/tests/kms_on_moto.rs). So the template is held
/// to the calls that box makes: only invite seals (`PUT /orgs/{org}/sso`,
/// one `GenerateDataKey` per secret written), only sso-callback opens (the
/// OIDC callback, one `Decrypt` per sign-in), and no one holds `Encrypt`.
#[test]
fn secrets_key_use_is_least_privilege() {
    let kms = |function: &str| -> Vec<String> {
        allowed_actions(function)
            .into_iter()
            .filter(|a| a.starts_with("kms:"))
            .collect()
    };
    assert_eq!(kms("InviteFunction"), ["kms:GenerateDataKey"]);
    assert_eq!(kms("SsoCallbackFunction"), ["kms:Decrypt"]);
    for function in ["AcceptFunction", "ConfirmFunction", "RemindFunction"] {
        assert!(kms(function).is_empty(), "{function}: {:?}", kms(function));
    }
}
