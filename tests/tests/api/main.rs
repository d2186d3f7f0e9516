//! Black-box tests: Admit over HTTP, on the embedded store with the outbox
//! and on DynamoDB with SES (both served by moto). Every scenario runs on both.

mod helpers;

mod bad_input;
mod browser;
mod domains;
mod events;
mod flow;
mod groups;
mod headers;
mod keys;
mod lifecycle;
mod rate_limits;
mod reminders;
mod revoke;
mod round_trips;
mod scim;
mod sso_oidc;
mod sso_outbound;
mod sso_rp_checks;
mod sso_saml;
mod sso_settings;

/// Runs each listed scenario (an `async fn(Backend)`) once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Embedded).await
                }
            )*
        }
        mod aws {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Aws).await
                }
            )*
        }
    };
}
