//! Sessions round-trip.

use super::*;

pub async fn sessions_round_trip(store: DynStore) {
    let (s, token) = Session::start(
        UserId::generate(&mut rand::rng()),
        None,
        now(),
        &mut rand::rng(),
    );
    store.put_session(&s, &[]).await.unwrap();
    assert_eq!(
        store.session(&token.digest()).await.unwrap(),
        Some(s.clone())
    );
    store.delete_session(&s.digest).await.unwrap();
    assert_eq!(store.session(&token.digest()).await.unwrap(), None);
    store.delete_session(&s.digest).await.unwrap();
}
