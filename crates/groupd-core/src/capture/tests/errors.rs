//! Errors map to the contract: status, code, type and detail.
use super::*;

#[test]
fn errors_map_to_status_code_type_and_detail() {
    let e = CaptureError::MissingApiKey;
    assert_eq!(
        (e.status(), e.code(), e.error_type()),
        (401, "missing_api_key", "authentication_error")
    );
    assert_eq!(
        e.detail(),
        "API key not provided. You can find your project API key in your project settings."
    );
    let e = CaptureError::InvalidApiKey;
    assert_eq!(
        (e.status(), e.code(), e.error_type()),
        (401, "invalid_api_key", "authentication_error")
    );
    assert_eq!(
        e.detail(),
        "Project API key invalid. You can find your project API key in your project settings."
    );
    let e = CaptureError::body_too_large(20 << 20);
    assert_eq!((e.status(), e.code()), (413, "payload_too_large"));
    assert_eq!(
        e.detail(),
        "Request body is larger than the 20971520-byte limit."
    );
    let e = CaptureError::InvalidPayload("x".into());
    assert_eq!(
        (e.status(), e.code(), e.error_type(), e.detail().as_str()),
        (400, "invalid_payload", "validation_error", "x")
    );
    let e = CaptureError::PayloadTooLarge("y".into());
    assert_eq!(
        (e.status(), e.code(), e.error_type()),
        (413, "payload_too_large", "invalid_request")
    );
    let e = CaptureError::UnsupportedCompression("zstd".into());
    assert_eq!((e.status(), e.attr()), (400, Some("compression")));
    assert_eq!(e.detail(), "Unsupported compression: 'zstd'.");
}
