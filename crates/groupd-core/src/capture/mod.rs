//! Capture as pure stages: decode the request payload, validate every event (all-or-nothing), and
//! compute what the store must write. No I/O here; the HTTP layer feeds bytes in and the store takes
//! the validated batch out.
