use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of personal API keys.
pub const PERSONAL_KEY_PREFIX: &str = "phx_";
/// Prefix of project (public capture) tokens.
pub const PROJECT_TOKEN_PREFIX: &str = "phc_";

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix` + 40 base62 characters from the OS random source (rejection-sampled: no bias).
pub fn generate_secret(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 40);
    out.push_str(prefix);
    let mut n = 0;
    while n < 40 {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).expect("the OS random source is available");
        for b in buf {
            // 248 = 4 * 62: values above would favour the first characters.
            if b < 248 && n < 40 {
                out.push(BASE62[(b % 62) as usize] as char);
                n += 1;
            }
        }
    }
    out
}

/// The SHA-256 digest under which a personal API key is stored; the plaintext never is.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest(pub [u8; 32]);

impl SecretDigest {
    /// Digest of a plaintext key.
    pub fn of(plaintext: &str) -> Self {
        Self(Sha256::digest(plaintext.as_bytes()).into())
    }

    /// Constant-time comparison with stored bytes (a length mismatch is simply unequal).
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored.len() == 32 && bool::from(self.0.as_slice().ct_eq(stored))
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefix_plus_40_base62() {
        let k = generate_secret(PERSONAL_KEY_PREFIX);
        assert_eq!(k.len(), 44);
        assert!(k.starts_with("phx_"));
        assert!(k[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(k, generate_secret(PERSONAL_KEY_PREFIX));
    }

    #[test]
    fn digest_matches_only_its_key() {
        let d = SecretDigest::of("phx_abc");
        assert!(d.matches(&SecretDigest::of("phx_abc").0));
        assert!(!d.matches(&SecretDigest::of("phx_abd").0));
        assert!(!d.matches(&[0u8; 31]));
    }
}
