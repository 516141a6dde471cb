//! Any text as the code of an approval link: it is accepted only in the form
//! mirrorgate issues (22 URL-safe characters), hashed without panicking, and a
//! hash only ever equals the hash of the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::token::{hash_token, hashes_equal, parse_token, TOKEN_LEN};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(token) = parse_token(&text) {
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
    let middle = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(text.len(), |(i, _)| i);
    let (a, b) = text.split_at(middle);
    let (ha, hb) = (hash_token(a), hash_token(b));
    assert_eq!(ha.len(), 64);
    assert_eq!(hashes_equal(&ha, &hb), a == b);
});
