//! Approval link tokens. A token is a credential: 128 random bits, URL-safe,
//! kept only as a SHA-256 hash, compared in constant time, never logged.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Random bytes in a token: 128 bits, the floor for a credential, which keeps the
/// link short enough to fit in one SMS with its message.
pub const TOKEN_BYTES: usize = 16;
/// Length of a token's text form (base64url, no padding).
pub const TOKEN_LEN: usize = 22;

/// A token and its hash, fresh from the source. Only `hash` may be stored.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub hash: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

/// Where the decision core gets new link tokens from.
pub trait TokenSource {
    fn issue(&mut self) -> IssuedToken;
}

/// Tokens from the operating system's random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsTokens;

impl TokenSource for OsTokens {
    fn issue(&mut self) -> IssuedToken {
        let mut bytes = [0u8; TOKEN_BYTES];
        // The OS random source failing is an unrecoverable platform fault: a link
        // without real randomness must never be issued.
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash_token(&token);
        IssuedToken { token, hash }
    }
}

/// Predictable tokens for tests and examples that must print the same output twice
/// (feature `test-util`).
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Default, Clone)]
pub struct CountingTokens {
    next: u64,
}

#[cfg(any(test, feature = "test-util"))]
impl TokenSource for CountingTokens {
    fn issue(&mut self) -> IssuedToken {
        self.next += 1;
        let token = format!("{:0>width$}", format!("test{}", self.next), width = TOKEN_LEN);
        let hash = hash_token(&token);
        IssuedToken { token, hash }
    }
}

/// The SHA-256 of a token, lowercase hex: the only form that is stored.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Compares two stored hashes in constant time.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Why a link's token was not even looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is incomplete or was altered: its code has the wrong length")]
    WrongLength,
    #[error("the link was altered: its code has characters a mirrorgate link never has")]
    BadCharacters,
}

/// Checks a token's form (from a URL) before hashing it.
pub fn parse_token(text: &str) -> Result<&str, TokenError> {
    if text.len() != TOKEN_LEN {
        return Err(TokenError::WrongLength);
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(TokenError::BadCharacters);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn os_tokens_are_url_safe_128_bit_and_distinct() {
        let mut source = OsTokens;
        let a = source.issue();
        let b = source.issue();
        assert_eq!(a.token.len(), TOKEN_LEN);
        assert!(parse_token(&a.token).is_ok());
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash, hash_token(&a.token));
        assert_eq!(a.hash.len(), 64);
        assert!(!format!("{a:?}").contains(&a.token), "Debug must not show the token");
    }

    #[test]
    fn counting_tokens_have_the_real_form() {
        let t = CountingTokens::default().issue();
        assert_eq!(parse_token(&t.token), Ok(t.token.as_str()));
    }

    #[test]
    fn malformed_tokens_are_named() {
        assert_eq!(parse_token("short"), Err(TokenError::WrongLength));
        assert_eq!(
            parse_token(&"a".repeat(21).add_char('%')),
            Err(TokenError::BadCharacters)
        );
    }

    trait AddChar {
        fn add_char(self, c: char) -> String;
    }
    impl AddChar for String {
        fn add_char(mut self, c: char) -> String {
            self.push(c);
            self
        }
    }

    proptest! {
        #[test]
        fn parse_token_never_panics(s in ".{0,100}") {
            let _ = parse_token(&s);
        }

        #[test]
        fn only_the_same_token_matches(a in "[A-Za-z0-9_-]{22}", b in "[A-Za-z0-9_-]{22}") {
            prop_assert_eq!(hashes_equal(&hash_token(&a), &hash_token(&b)), a == b);
        }
    }
}
