//! Accounts: emails found in batches.

use super::*;

pub async fn emails_with_accounts_are_found_in_batches(store: DynStore) {
    let (org, _, _) = seed_org(&store, SeatPlan::default()).await;
    // `h0` sorts before every `n…` email and `z9` after them all, so however
    // a store orders and splits the 150, they are in different round trips.
    let holders = ["h0@acme.test", "z9@acme.test", "h2@acme.test"];
    for h in holders {
        let (m, _) = invitee(&org, h);
        store
            .add_memberships(&org, std::slice::from_ref(&m), &[])
            .await
            .unwrap();
        let acct = account(h);
        let mut accepted = m.clone();
        accepted.accept(acct.id.clone(), now()).unwrap();
        store
            .accept_membership(&accepted, &Expected::as_read(&m), Some(&acct), &[])
            .await
            .unwrap();
    }
    // 150 asked (past one round trip's 100), a holder on each side of the
    // boundary and one asked twice; an invitee without an account is not one.
    let mut asked: Vec<Email> = (0..147)
        .map(|i| email(&format!("n{i:03}@acme.test")))
        .collect();
    asked.insert(3, email(holders[0]));
    asked.insert(120, email(holders[1]));
    asked.push(email(holders[1]));
    let (pending, _) = invitee(&org, "pending@acme.test");
    store.add_memberships(&org, &[pending], &[]).await.unwrap();
    asked.push(email("pending@acme.test"));
    let found = store.emails_with_accounts(&asked).await.unwrap();
    let expected: std::collections::HashSet<Email> =
        [email(holders[0]), email(holders[1])].into_iter().collect();
    assert_eq!(found, expected);
    assert!(store.emails_with_accounts(&[]).await.unwrap().is_empty());
}
