//! Rate limits on the endpoints that check a secret or a token (`/auth/login`,
//! `/invitations/lookup`, `/invitations/accept`, `/setup/*`, `/sso/start`,
//! `/sso/discover`): every request counts against its client address, and
//! every failed password against the account's email. A wrong operator token
//! counts against the address too, as does a wrong SCIM token. Past either budget the
//! request is refused with 429 `rate_limited` before any secret is checked,
//! so even the right password is refused until the window ends. The counters
//! are in the store: the budget holds across every instance of a function.

use crate::{App, Error, Result};
use admit_domain::Email;
use admit_domain::rate_limit::{Budget, Counter, Subject};
use std::net::IpAddr;

/// The budgets: per client address (every request to a limited endpoint)
/// and per account email (failed passwords).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub per_address: Budget,
    pub per_account: Budget,
}

impl Default for RateLimitConfig {
    /// 120 requests a minute per address: far above what a person or a
    /// shared office does, far below a scan. 10 failed passwords per 15
    /// minutes per account: a typo-prone person never meets it, a guesser
    /// gets under 1,000 tries a day.
    fn default() -> Self {
        RateLimitConfig {
            per_address: Budget {
                attempts: 120,
                window_seconds: 60,
            },
            per_account: Budget {
                attempts: 10,
                window_seconds: 15 * 60,
            },
        }
    }
}

impl RateLimitConfig {
    /// The budgets from their settings (`120/1m`, `10/15m`).
    pub fn parse(per_address: &str, per_account: &str) -> std::result::Result<Self, String> {
        Ok(RateLimitConfig {
            per_address: per_address.parse()?,
            per_account: per_account.parse()?,
        })
    }
}

const ADDRESS_SCOPE: &str = "sign-in";
const ACCOUNT_SCOPE: &str = "password";

impl App {
    /// This `App` acting for a request from `client` (its address as the
    /// composition root knows it: the socket, a trusted proxy's header, or
    /// API Gateway's request context). Cheap: it shares everything else.
    pub fn for_client(&self, client: Option<IpAddr>) -> App {
        App {
            client,
            ..self.clone()
        }
    }

    /// Count this request against its client address; 429 past the budget.
    /// Without a known address (a direct call), nothing is counted.
    pub(crate) async fn count_request(&self) -> Result<()> {
        let Some(ip) = self.client else {
            return Ok(());
        };
        let budget = self.config().rate_limits.per_address;
        let (attempts, counter) = self
            .count(budget, ADDRESS_SCOPE, Subject::Address(ip))
            .await?;
        self.limit(
            budget,
            &counter,
            attempts,
            "sign-in requests from one address",
        )
    }

    /// The operator's bearer token, checked with the client's address budget:
    /// a wrong (or missing) token counts against it, and once it is spent
    /// even the right token is refused (429) until the window ends. A right
    /// token costs nothing: the operator's own calls are never counted.
    pub async fn authorize_operator_from_client(&self, token: Option<&str>) -> Result<()> {
        if let Some(ip) = self.client {
            let budget = self.config().rate_limits.per_address;
            self.refuse_if_spent(
                budget,
                ADDRESS_SCOPE,
                Subject::Address(ip),
                "failed operator tokens from one address",
            )
            .await?;
        }
        match self.authorize_operator(token) {
            Err(Error::Unauthenticated) => {
                self.count_request().await?;
                Err(Error::Unauthenticated)
            }
            other => other,
        }
    }

    /// Refuse (429) when the client's address has spent its budget, without
    /// counting this request (a token check counts only its failures).
    pub(crate) async fn refuse_spent_address(&self, what: &'static str) -> Result<()> {
        let Some(ip) = self.client else {
            return Ok(());
        };
        let budget = self.config().rate_limits.per_address;
        self.refuse_if_spent(budget, ADDRESS_SCOPE, Subject::Address(ip), what)
            .await
    }

    /// Refuse (429) when `email` has used up its failed passwords.
    pub(crate) async fn check_password_budget(&self, email: &Email) -> Result<()> {
        let budget = self.config().rate_limits.per_account;
        self.refuse_if_spent(
            budget,
            ACCOUNT_SCOPE,
            Subject::Email(email),
            "failed passwords for one account",
        )
        .await
    }

    /// Count a failed password against `email`.
    pub(crate) async fn count_password_failure(&self, email: &Email) -> Result<()> {
        let budget = self.config().rate_limits.per_account;
        self.count(budget, ACCOUNT_SCOPE, Subject::Email(email))
            .await
            .map(drop)
    }

    /// Count one attempt of `subject` in `scope`: the attempts in its
    /// window so far (this one included) and the window's counter.
    async fn count(
        &self,
        budget: Budget,
        scope: &str,
        subject: Subject<'_>,
    ) -> Result<(u32, Counter)> {
        let counter = budget.counter(scope, subject, self.now());
        let attempts = self
            .store()
            .count_attempt(&counter.key, counter.expires_at)
            .await?;
        Ok((attempts, counter))
    }

    /// 429 when `subject` has no attempt left in its window, counting none.
    async fn refuse_if_spent(
        &self,
        budget: Budget,
        scope: &str,
        subject: Subject<'_>,
        what: &str,
    ) -> Result<()> {
        let counter = budget.counter(scope, subject, self.now());
        let spent = self.store().attempts(&counter.key).await?;
        self.limit(budget, &counter, spent.saturating_add(1), what)
    }

    /// 429, with the seconds left in `counter`'s window, when `attempts`
    /// are past `budget`; `what` says which budget, in the log.
    fn limit(&self, budget: Budget, counter: &Counter, attempts: u32, what: &str) -> Result<()> {
        if budget.exceeded_by(attempts) {
            tracing::warn!(budget = what, "rate limited");
            return Err(Error::RateLimited {
                retry_after: counter.retry_after(self.now()),
            });
        }
        Ok(())
    }
}
