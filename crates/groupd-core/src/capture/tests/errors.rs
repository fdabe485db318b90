//! Errors carry the contract's detail texts (status, type, code and attr are the HTTP layer's:
//! see groupd-server's `http/error.rs`).
use super::*;

#[test]
fn errors_carry_the_contract_details() {
    assert_eq!(
        CaptureError::MissingApiKey.detail(),
        "API key not provided. You can find your project API key in your project settings."
    );
    assert_eq!(
        CaptureError::InvalidApiKey.detail(),
        "Project API key invalid. You can find your project API key in your project settings."
    );
    let e = CaptureError::body_too_large(20 << 20);
    assert!(is_too_large(&e), "{e:?}");
    assert_eq!(
        e.detail(),
        "Request body is larger than the 20971520-byte limit."
    );
    assert_eq!(CaptureError::InvalidPayload("x".into()).detail(), "x");
    assert_eq!(
        CaptureError::UnsupportedCompression("zstd".into()).detail(),
        "Unsupported compression: 'zstd'."
    );
}
