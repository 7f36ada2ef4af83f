//! Conditional requests (`If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since`, `If-Range` with `Range`) as `weft serve` evaluates them for a static
//! file: any field values give one of the five answers, a partial answer lies within the file,
//! and a request without conditions or range gets the whole file. Input: 8 bytes of
//! modification time in seconds, 2 of file length, a byte of which fields are present (bit 6:
//! GET), then the field values separated by `\n`.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/serve/conditional.rs"]
mod conditional;

use conditional::{evaluate, Conditions, Outcome, Validators};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, UNIX_EPOCH};

fuzz_target!(|data: &[u8]| {
    if data.len() < 11 {
        return;
    }
    // Seconds up to year ~2^40 s: any SystemTime the platform holds.
    let secs = u64::from_le_bytes(data[..8].try_into().unwrap()) >> 24;
    let len = u64::from(u16::from_le_bytes(data[8..10].try_into().unwrap()));
    let present = data[10];
    let Ok(text) = std::str::from_utf8(&data[11..]) else {
        return;
    };
    let mut fields = text.split('\n');
    let mut field = |bit: u8| {
        let value = fields.next();
        if present & (1 << bit) != 0 {
            value
        } else {
            None
        }
    };
    let conditions = Conditions {
        if_match: field(0),
        if_none_match: field(1),
        if_modified_since: field(2),
        if_unmodified_since: field(3),
        if_range: field(4),
        range: field(5),
        get: present & (1 << 6) != 0,
    };
    let validators = Validators::new(UNIX_EPOCH + Duration::from_secs(secs), len);
    let outcome = evaluate(&conditions, &validators, len);
    match &outcome {
        Outcome::Partial(bytes) => {
            assert!(conditions.get && conditions.range.is_some());
            assert!(bytes.start < bytes.end && bytes.end <= len, "{bytes:?} of {len}");
        }
        Outcome::Unsatisfiable => assert!(conditions.get && conditions.range.is_some()),
        _ => {}
    }
    if present & 0x3f == 0 {
        assert_eq!(outcome, Outcome::Full);
    }
    // Its own validators always satisfy If-Match and make If-None-Match a 304.
    let etag = validators.etag.clone();
    let own = Conditions {
        if_match: Some(&etag),
        ..Default::default()
    };
    assert_eq!(evaluate(&own, &validators, len), Outcome::Full);
    let own = Conditions {
        if_none_match: Some(&etag),
        ..Default::default()
    };
    assert_eq!(evaluate(&own, &validators, len), Outcome::NotModified);
});
