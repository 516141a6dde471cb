//! The approval pages, as plain request -> response functions so that the same
//! code serves them in the `approval-api` Lambda and in `mirrorgate serve`.

pub mod approval;
pub mod drill;
pub mod fencing;
mod html;
pub mod switchover;

pub use html::{age, page, wide_refreshing_page};

/// What the pages need of an HTTP request.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// Largest form body accepted (the form has four short fields).
pub const MAX_FORM_BYTES: usize = 8 * 1024;

/// Headers every page carries: nothing cached, nothing framed, nothing loaded
/// from elsewhere, no referrer leaking the link.
pub fn security_headers() -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "text/html; charset=utf-8".into()),
        ("cache-control", "no-store".into()),
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'".into(),
        ),
        ("referrer-policy", "no-referrer".into()),
        ("x-content-type-options", "nosniff".into()),
        ("x-frame-options", "DENY".into()),
    ]
}

impl HttpResponse {
    pub fn page(status: u16, body: String) -> HttpResponse {
        HttpResponse {
            status,
            headers: security_headers(),
            body,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> HttpResponse {
        self.headers.push((name, value.to_string()));
        self
    }
}
