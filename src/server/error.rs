//! The HTTP error boundary: a small fixed set of answers that never echo input.
//! The log gets a category, never request metadata or content.

use axum::http::StatusCode;

use crate::intake::IntakeError;
use crate::receipt::ReceiptError;
use crate::store::StoreError;

/// Everything a handler can answer with besides success.
#[derive(Debug)]
pub enum HttpError {
    /// The receipt code has a typo (found before any lookup).
    Typo,
    /// No report for this receipt (absent, deleted, or never existed).
    Unknown,
    /// The submission was refused for its content.
    Invalid(&'static str, &'static str),
    /// The body is larger than allowed.
    TooLarge,
    /// The body could not be parsed (truncated multipart, bad JSON).
    BadRequest,
    /// Storage failed or is full: nothing was stored.
    Busy,
    /// The request took longer than its deadline.
    Timeout,
    /// A rate limit was hit.
    RateLimited,
    /// No such page.
    NotFound,
}

impl HttpError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::Typo | HttpError::Invalid(..) | HttpError::BadRequest => StatusCode::BAD_REQUEST,
            HttpError::Unknown | HttpError::NotFound => StatusCode::NOT_FOUND,
            HttpError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            HttpError::Timeout => StatusCode::REQUEST_TIMEOUT,
            HttpError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The stable code in JSON answers.
    pub fn code(&self) -> &'static str {
        match self {
            HttpError::Typo => "receipt_typo",
            HttpError::Unknown => "unknown_receipt",
            HttpError::Invalid(code, _) => code,
            HttpError::TooLarge => "too_large",
            HttpError::BadRequest => "bad_request",
            HttpError::Busy => "unavailable",
            HttpError::Timeout => "timeout",
            HttpError::RateLimited => "rate_limited",
            HttpError::NotFound => "not_found",
        }
    }

    /// The message id in the catalogue (the user's message).
    pub fn message_key(&self) -> &'static str {
        match self {
            HttpError::Typo => "error-typo",
            HttpError::Unknown => "error-unknown",
            HttpError::Invalid(_, key) => key,
            HttpError::TooLarge => "error-too-large",
            HttpError::BadRequest => "error-bad-request",
            HttpError::Busy => "error-busy",
            HttpError::Timeout => "error-timeout",
            HttpError::RateLimited => "error-rate",
            HttpError::NotFound => "error-not-found",
        }
    }
}

impl From<ReceiptError> for HttpError {
    fn from(_: ReceiptError) -> Self {
        HttpError::Typo
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        // The operator's log learns that storage failed, and nothing else.
        match e {
            StoreError::FollowUpLimit => return HttpError::Invalid("too_many_followups", "error-too-many-followups"),
            StoreError::Full => warn_full_at_most_once_a_minute(),
            e => tracing::error!(error = %e, "storage error"),
        }
        HttpError::Busy
    }
}

/// Unix second of the last "disk nearly full" warning.
static LAST_FULL_WARNING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One warning a minute while the disk is below its reserve, however many
/// submissions are refused: a flood must not fill the journal's disk too.
fn warn_full_at_most_once_a_minute() {
    use std::sync::atomic::Ordering::Relaxed;
    // The real time: this throttles a log, whatever clock the server runs on.
    let now = crate::clock::now_unix();
    let last = LAST_FULL_WARNING.load(Relaxed);
    if now >= last.saturating_add(60) && LAST_FULL_WARNING.compare_exchange(last, now, Relaxed, Relaxed).is_ok() {
        tracing::warn!(
            "submissions refused: the disk is nearly full (see --keep-free-mib); repeated at most once a minute"
        );
    }
}

impl From<IntakeError> for HttpError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Empty => HttpError::Invalid("empty", "error-empty"),
            IntakeError::Category => HttpError::Invalid("category", "error-category"),
            IntakeError::FieldTooLong => HttpError::Invalid("field_too_long", "error-field-too-long"),
            IntakeError::ManifestTooLarge => HttpError::TooLarge,
            IntakeError::TooManyFiles => HttpError::Invalid("too_many_files", "error-too-many-files"),
            IntakeError::UnknownField => HttpError::Invalid("unknown_field", "error-bad-request"),
            IntakeError::Mixed => HttpError::Invalid("mixed_sealing", "error-bad-request"),
            IntakeError::NoSealedManifest => HttpError::Invalid("sealed_manifest", "error-bad-request"),
            IntakeError::NotAge => HttpError::Invalid("not_age", "error-bad-request"),
            IntakeError::Encoding => HttpError::Invalid("encoding", "error-bad-request"),
            IntakeError::BadTags => HttpError::Invalid("tags", "error-bad-request"),
            IntakeError::Storage(e) => e.into(),
            IntakeError::Crypto(e) => {
                tracing::error!(error = %e, "sealing error");
                HttpError::Busy
            }
        }
    }
}

impl From<axum::extract::multipart::MultipartError> for HttpError {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HttpError::TooLarge
        } else {
            HttpError::BadRequest
        }
    }
}
