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

/// How a key is shown after its creation: the prefix and its last 4 characters
/// (`phx_...abcd`, PostHog's `mask_value`), enough to tell keys apart, useless to an attacker.
pub fn mask_secret(plaintext: &str) -> String {
    let chars: Vec<char> = plaintext.chars().collect();
    let head: String = chars.iter().take(4).collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{head}...{tail}")
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
    fn a_mask_shows_the_prefix_and_the_last_four() {
        assert_eq!(mask_secret("phx_123456abcd"), "phx_...abcd");
        let k = generate_secret(PERSONAL_KEY_PREFIX);
        assert_eq!(mask_secret(&k), format!("phx_...{}", &k[40..]));
        assert_eq!(mask_secret("ab"), "ab...ab");
    }

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
