//! Inviting 10,000 emails as 100 requests of 100 against DynamoDB and SES on
//! moto, every call counted on the wire; against the floor for the same
//! work: the 10,000 items written by `BatchWriteItem` and the 10,000
//! messages sent by `SendEmail` (8 at a time, as Admit sends), straight
//! from the SDK through the same proxy to the same server.

use crate::seed::{self, Client, Mailbox};
use crate::stats::{ms, percentile};
use admit::{MailKind, Serve, StoreKind};
use admit_tests::moto::Moto;
use admit_tests::wire::CountingProxy;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::{StreamExt, TryStreamExt};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Bulk {
    pub emails: usize,
    pub requests: usize,
    pub admit_secs: f64,
    pub request_p50_ms: f64,
    pub request_p99_ms: f64,
    pub admit_calls: String,
    pub admit_dynamodb_calls: u64,
    pub admit_ses_calls: u64,
    pub floor_secs: f64,
    pub floor_calls: String,
}

pub async fn run(requests: usize, per_request: usize) -> anyhow::Result<Bulk> {
    let moto = Moto::shared();
    let proxy = CountingProxy::start(&moto.endpoint).await;
    let sdk = proxy.sdk_config(moto);
    let domain = "bulk.test";
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    ses.create_email_identity()
        .email_identity(domain)
        .send()
        .await?;
    let dir = tempfile::tempdir()?;
    let opts = Serve {
        listen: "127.0.0.1:0".parse()?,
        public_url: None,
        store: StoreKind::Dynamodb,
        data_dir: dir.path().join("data"),
        table: Some("admit-bulk".into()),
        create_table: true,
        mail: MailKind::Ses,
        outbox_dir: dir.path().join("outbox"),
        mail_from: format!("admit@{domain}"),
        ses_configuration_set: None,
        operator_token: Some(seed::OPERATOR_TOKEN.into()),
        remind_every: Duration::from_secs(24 * 3600),
        clock_offset: None,
        trusted_proxies: Vec::new(),
        // One client sends the whole load: measure the work, not the 429s.
        rate_limit_address: "100000000/1m".into(),
        rate_limit_account: "10/15m".into(),
        event_retention_days: 365,
        ca_file: None,
        dns_server: None,
    };
    let running =
        admit::start_with(opts, Arc::new(admit_app::SystemClock), Some(sdk.clone())).await?;
    let client = Client::new(&format!("http://{}", running.addr));
    let org = client.org(domain, &Mailbox::Moto(moto)).await?;

    let before = proxy.calls();
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(requests);
    for r in 0..requests {
        let emails: Vec<String> = (0..per_request)
            .map(|i| format!("b{r:03}-{i:03}@{domain}"))
            .collect();
        let t = Instant::now();
        client.invite(&org, &emails).await?;
        latencies.push(t.elapsed());
    }
    let admit_time = started.elapsed();
    let admit_calls = proxy.calls().since(&before);

    // The floor: the same number of items and messages, nothing else.
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    admit_store_dynamodb_table(&dynamodb, "admit-bulk-floor").await?;
    let before = proxy.calls();
    let started = Instant::now();
    let total = requests * per_request;
    let ids: Vec<usize> = (0..total).collect();
    for chunk in ids.chunks(25) {
        let writes = chunk
            .iter()
            .map(|i| {
                let item = [
                    ("pk", AttributeValue::S("ORG#floor".into())),
                    ("sk", AttributeValue::S(format!("MEMBER#{i:05}"))),
                    ("email", AttributeValue::S(format!("f{i:05}@{domain}"))),
                ];
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(
                                item.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                            ))
                            .build()
                            .expect("item set"),
                    )
                    .build()
            })
            .collect();
        dynamodb
            .batch_write_item()
            .request_items("admit-bulk-floor", writes)
            .send()
            .await?;
    }
    // The messages at Admit's own request concurrency (8), so the floor
    // is not slower for sending one at a time.
    let sends = (0..total).map(|i| {
        let ses = ses.clone();
        async move {
            let raw = format!(
                "From: admit@{domain}\r\nTo: f{i:05}@{domain}\r\nSubject: invitation\r\n\r\nhello\r\n"
            );
            ses.send_email()
                .from_email_address(format!("admit@{domain}"))
                .destination(
                    aws_sdk_sesv2::types::Destination::builder()
                        .to_addresses(format!("f{i:05}@{domain}"))
                        .build(),
                )
                .content(
                    aws_sdk_sesv2::types::EmailContent::builder()
                        .raw(
                            aws_sdk_sesv2::types::RawMessage::builder()
                                .data(aws_sdk_sesv2::primitives::Blob::new(raw))
                                .build()?,
                        )
                        .build(),
                )
                .send()
                .await?;
            anyhow::Ok(())
        }
    });
    futures::stream::iter(sends)
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    let floor_time = started.elapsed();
    let floor_calls = proxy.calls().since(&before);

    Ok(Bulk {
        emails: total,
        requests,
        admit_secs: admit_time.as_secs_f64(),
        request_p50_ms: ms(percentile(&mut latencies, 50.0)),
        request_p99_ms: ms(percentile(&mut latencies, 99.0)),
        admit_dynamodb_calls: admit_calls.of("dynamodb"),
        admit_ses_calls: admit_calls.of("ses"),
        admit_calls: admit_calls.describe(),
        floor_secs: floor_time.as_secs_f64(),
        floor_calls: floor_calls.describe(),
    })
}

/// A table with the key schema of Admit's (only `pk`/`sk` matter here).
async fn admit_store_dynamodb_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> anyhow::Result<()> {
    admit_store_dynamodb::create_table(client, name)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create {name}: {e}"))
}
