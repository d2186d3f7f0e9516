//! Rate-limit counters: each attempt counted once, however many arrive at once.

use super::*;

pub async fn attempts_are_counted_once_each(store: DynStore) {
    let until = now() + Duration::minutes(1);
    let key = format!("addr#192.0.2.1#{}", rand::random::<u32>());
    assert_eq!(store.attempts(&key).await.unwrap(), 0);
    assert_eq!(store.count_attempt(&key, until).await.unwrap(), 1);
    assert_eq!(store.count_attempt(&key, until).await.unwrap(), 2);
    assert_eq!(store.attempts(&key).await.unwrap(), 2);
    let other = format!("{key}-other");
    assert_eq!(store.attempts(&other).await.unwrap(), 0);
    assert_eq!(store.count_attempt(&other, until).await.unwrap(), 1);

    // Thirty at once: each gets its own count.
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.count_attempt(&key, until).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (3..=32).collect::<Vec<u32>>());
    assert_eq!(store.attempts(&key).await.unwrap(), 32);
}
