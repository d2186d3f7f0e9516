//! The AWS mailer: Amazon SES v2 `SendEmail` with the raw RFC 5322 message.

use crate::rfc5322::{parse_mailbox, try_to_rfc5322};
use crate::{Mail, MailError, Mailer};
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use lettre::message::Mailbox;

/// Sends through SES v2. The sender (or its domain) must be a verified
/// identity of the account, else SES answers `MessageRejected`.
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: Mailbox,
    from_header: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// `from` as in a `From` header: `Admit <admit@example.com>` or an address.
    pub fn new(
        client: aws_sdk_sesv2::Client,
        from: &str,
        configuration_set: Option<String>,
    ) -> Result<Self, MailError> {
        let from = parse_mailbox(from)?;
        Ok(Self {
            client,
            from_header: from.to_string(),
            from,
            configuration_set,
        })
    }
}

#[async_trait::async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let raw = try_to_rfc5322(&self.from, mail)?;
        let raw = RawMessage::builder()
            .data(Blob::new(raw))
            .build()
            .map_err(|e| MailError::Rejected(format!("cannot build the SES request: {e}")))?;
        let output = self
            .client
            .send_email()
            .from_email_address(&self.from_header)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(mail.to.iter().map(|e| e.as_str().to_owned()).collect()))
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| {
                let error = classify(&e);
                // The error's context only: never the message, which holds tokens.
                tracing::warn!(transient = error.is_transient(), error = %DisplayErrorContext(&e), "SES did not send");
                error
            })?;
        tracing::info!(
            message_id = output.message_id().unwrap_or_default(),
            "mail sent through SES"
        );
        Ok(())
    }

    /// The account's sending rate. When SES cannot say (an error, an
    /// emulator without the call), `None`: sends are not paced, and a
    /// throttled one stays owed and is retried after a backoff.
    async fn max_send_rate(&self) -> Option<f64> {
        match self.client.get_account().send().await {
            Ok(account) => account
                .send_quota()
                .map(|q| q.max_send_rate())
                .filter(|r| r.is_finite() && *r > 0.0),
            Err(e) => {
                tracing::info!(error = %DisplayErrorContext(&e), "SES did not give its send quota; sends are not paced");
                None
            }
        }
    }
}

/// Transient when waiting may help (throttling, paused sending, network, 5xx),
/// Rejected when it will not (the request or the account needs a change).
fn classify(e: &SdkError<SendEmailError>) -> MailError {
    let message = DisplayErrorContext(e).to_string();
    let transient = match e {
        SdkError::ServiceError(service) => {
            is_transient(service.err(), service.raw().status().as_u16())
        }
        SdkError::ConstructionFailure(_) => false,
        // Timeouts, dispatch failures (network), unreadable responses.
        _ => true,
    };
    if transient {
        MailError::Transient(message)
    } else {
        MailError::Rejected(message)
    }
}

fn is_transient(err: &SendEmailError, status: u16) -> bool {
    use SendEmailError as E;
    match err {
        E::TooManyRequestsException(_)
        | E::LimitExceededException(_)
        | E::SendingPausedException(_) => true,
        E::AccountSuspendedException(_)
        | E::BadRequestException(_)
        | E::MailFromDomainNotVerifiedException(_)
        | E::MessageRejected(_)
        | E::NotFoundException(_) => false,
        // Errors the model does not name (generic AWS ones, newer ones).
        _ => {
            let throttled_or_down = matches!(
                err.code(),
                Some(
                    "Throttling"
                        | "ThrottlingException"
                        | "RequestThrottled"
                        | "RequestTimeout"
                        | "RequestTimeoutException"
                        | "InternalFailure"
                        | "InternalError"
                        | "ServiceUnavailable"
                )
            );
            throttled_or_down || status == 429 || status >= 500
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sesv2::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_sesv2::types::error as t;

    #[test]
    fn named_errors_are_classified() {
        let transient = [
            E::TooManyRequestsException(t::TooManyRequestsException::builder().build()),
            E::LimitExceededException(t::LimitExceededException::builder().build()),
            E::SendingPausedException(t::SendingPausedException::builder().build()),
        ];
        for err in &transient {
            assert!(is_transient(err, 400), "{err:?}");
        }
        let rejected = [
            E::MessageRejected(t::MessageRejected::builder().build()),
            E::BadRequestException(t::BadRequestException::builder().build()),
            E::MailFromDomainNotVerifiedException(
                t::MailFromDomainNotVerifiedException::builder().build(),
            ),
            E::AccountSuspendedException(t::AccountSuspendedException::builder().build()),
            E::NotFoundException(t::NotFoundException::builder().build()),
        ];
        for err in &rejected {
            assert!(!is_transient(err, 400), "{err:?}");
        }
    }

    type E = SendEmailError;

    fn generic(code: &str) -> E {
        E::generic(ErrorMetadata::builder().code(code).message("m").build())
    }

    #[test]
    fn other_errors_go_by_code_then_status() {
        assert!(is_transient(&generic("Throttling"), 400));
        assert!(is_transient(&generic("InternalFailure"), 500));
        assert!(is_transient(&generic("Whatever"), 503));
        assert!(is_transient(&generic("Whatever"), 429));
        assert!(!is_transient(&generic("ValidationException"), 400));
        assert!(!is_transient(&generic("AccessDeniedException"), 403));
    }

    #[test]
    fn timeouts_and_network_failures_are_transient() {
        let timeout = SdkError::<E>::timeout_error("timed out");
        assert!(matches!(classify(&timeout), MailError::Transient(_)));
        let dispatch =
            SdkError::<E>::dispatch_failure(ConnectorError::io("connection refused".into()));
        assert!(
            matches!(classify(&dispatch), MailError::Transient(m) if m.contains("connection refused"))
        );
        let construction = SdkError::<E>::construction_failure("bad input");
        assert!(matches!(classify(&construction), MailError::Rejected(_)));
    }
}
