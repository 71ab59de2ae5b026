//! Unguessable identifiers: job ids and share tokens.

/// 128 bits from the operating system's CSPRNG as 32 lowercase hex digits.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// True when `s` has the shape of a token, so malformed ids never reach the database or the
/// file system.
pub fn is_token(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_hex() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert!(is_token(&a) && is_token(&b));
        assert_ne!(a, b);
        assert!(!is_token("../../etc/passwd"));
        assert!(!is_token(&a.to_uppercase()));
    }
}
