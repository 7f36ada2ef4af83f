//! The HTTP date parser: never a panic, and a date it accepts formats back (as IMF-fixdate)
//! to a string that parses to the same instant.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(time) = weft_http::parse_http_date(text) {
        let formatted = weft_http::http_date(time);
        assert_eq!(weft_http::parse_http_date(&formatted), Some(time), "{text:?} -> {formatted:?}");
    }
});
