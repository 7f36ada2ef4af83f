//! Head parsing, differentially against httparse: weft never panics, and every head weft
//! accepts, httparse accepts too with the same method, target and header fields (weft is
//! stricter, never looser: it refuses bare LF and more, see tests/http_smuggling.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = weft_http::Request::from_bytes(data) else {
        return;
    };
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut oracle = httparse::Request::new(&mut headers);
    let status = oracle.parse(data);
    assert!(
        matches!(status, Ok(httparse::Status::Complete(_))),
        "weft accepted what httparse refuses ({status:?}): {:?}",
        String::from_utf8_lossy(data)
    );
    assert_eq!(oracle.method, Some(request.method_str()));
    assert_eq!(oracle.path, Some(request.target()));
    let ours: Vec<(&str, &[u8])> = request.headers().collect();
    let theirs: Vec<(&str, &[u8])> = oracle.headers.iter().map(|h| (h.name, h.value)).collect();
    // httparse keeps a value's trailing whitespace; weft trims it (RFC 9110 §5.5).
    assert_eq!(ours.len(), theirs.len());
    for ((n1, v1), (n2, v2)) in ours.iter().zip(&theirs) {
        assert_eq!(n1, n2);
        assert_eq!(v1.trim_ascii(), v2.trim_ascii());
    }
});
