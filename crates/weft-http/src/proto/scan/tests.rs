use super::*;

/// Field lines as owned (name, value) pairs.
type Fields = Vec<(Vec<u8>, Vec<u8>)>;

fn scan(raw: &[u8]) -> Result<Option<(Scanned, Fields)>, ScanError> {
    let mut fields = Vec::new();
    let head = scan_head(raw, 4, |n, v| fields.push((n.to_vec(), v.to_vec())))?;
    Ok(head.map(|h| (h, fields)))
}

#[test]
fn a_head_is_found_with_its_parts() {
    let raw = b"\r\nPUT /x%20y?q=\xc3\xa9 HTTP/1.0\r\nA:\tb  c \t\r\nE:\r\n\r\nbody";
    let (head, fields) = scan(raw).unwrap().unwrap();
    assert_eq!(head.len, raw.len() - 4);
    assert_eq!(&raw[head.method.clone()], b"PUT");
    assert_eq!(&raw[head.target.clone()], "/x%20y?q=\u{e9}".as_bytes());
    assert_eq!(head.minor_version, 0);
    assert_eq!(&raw[head.fields.clone()], b"A:\tb  c \t\r\nE:\r\n");
    assert_eq!(head.field_count, 2);
    assert_eq!(
        fields,
        [(b"A".to_vec(), b"b  c".to_vec()), (b"E".to_vec(), vec![])]
    );
}

#[test]
fn every_prefix_of_a_valid_head_is_partial() {
    let raw = b"GET /a/long/path/over/words HTTP/1.1\r\nHost: example.com\r\nX-Long: \t0123456789abcdef\t0123456789\r\n\r\n";
    for cut in 0..raw.len() {
        assert_eq!(scan(&raw[..cut]), Ok(None), "cut at {cut}");
    }
    assert!(scan(raw).unwrap().is_some());
}

#[test]
fn each_rule_refuses_with_its_error() {
    let cases: &[(&[u8], ScanError)] = &[
        (b"\rX", ScanError::NewLine),
        (b"\nGET / HTTP/1.1\r\n\r\n", ScanError::BareLf),
        (b"G(T / HTTP/1.1\r\n\r\n", ScanError::Method),
        (b" GET / HTTP/1.1\r\n\r\n", ScanError::Method),
        (b"GET  / HTTP/1.1\r\n\r\n", ScanError::Target),
        (b"GET /a\x7fb HTTP/1.1\r\n\r\n", ScanError::Target),
        (b"GET /a\tb HTTP/1.1\r\n\r\n", ScanError::Target),
        (b"GET /\xff\xfe HTTP/1.1\r\n\r\n", ScanError::Target),
        (b"GET / HTTP/1.2\r\n\r\n", ScanError::Version),
        (b"GET / HTTP/2", ScanError::Version),
        (b"GET / http/1.1\r\n\r\n", ScanError::Version),
        (b"GET / HTTP/1.1 \r\n\r\n", ScanError::NewLine),
        (b"GET / HTTP/1.1\r\r\n\r\n", ScanError::NewLine),
        (b"GET / HTTP/1.1\n\r\n", ScanError::BareLf),
        (b"GET / HTTP/1.1\r\nA : b\r\n\r\n", ScanError::FieldName),
        (b"GET / HTTP/1.1\r\n: b\r\n\r\n", ScanError::FieldName),
        (
            b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
            ScanError::FieldName,
        ),
        (
            b"GET / HTTP/1.1\r\nA: b\x01c\r\n\r\n",
            ScanError::FieldValue,
        ),
        (
            b"GET / HTTP/1.1\r\nA: 0123456789\x7f\r\n\r\n",
            ScanError::FieldValue,
        ),
        (b"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", ScanError::FieldValue),
        (b"GET / HTTP/1.1\r\nA: b\n\r\n", ScanError::BareLf),
        (b"GET / HTTP/1.1\r\nA: b\r\n\n", ScanError::BareLf),
        (b"GET / HTTP/1.1\r\nA: b\r\n\rx", ScanError::NewLine),
    ];
    for (raw, error) in cases {
        assert_eq!(scan(raw), Err(*error), "{:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn the_field_limit_counts_complete_lines() {
    let four = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n";
    let mut five = four.to_vec();
    five.extend(b"E: 5");
    assert_eq!(scan(&five), Ok(None), "the fifth line is not complete yet");
    five.extend(b"\r\n");
    assert_eq!(scan(&five), Err(ScanError::TooManyFields));
    let mut exactly = four.to_vec();
    exactly.extend(b"\r\n");
    assert_eq!(scan(&exactly).unwrap().unwrap().0.field_count, 4);
}

#[test]
fn the_word_scan_agrees_with_the_byte_rule_at_every_position() {
    // Every byte value at every offset of a 20-byte value: the word scan must stop exactly
    // where the byte-by-byte rule does.
    for stop in [TARGET_STOP, VALUE_STOP] {
        for b in 0..=255u8 {
            for pos in 0..20 {
                let mut run = vec![b'a'; 24];
                run[pos] = b;
                run[3] = 0xc3; // a high byte before, to exercise the non-ASCII flag
                if pos == 3 {
                    continue;
                }
                let want = run.iter().position(|&x| stop.stops(x));
                let got = run_end(&run, 0, stop).map(|(end, _)| end);
                assert_eq!(got, want, "byte {b:#x} at {pos}");
                if let Some((end, high)) = run_end(&run, 0, stop) {
                    assert_eq!(high, run[..end].iter().any(|&x| x >= 0x80));
                }
            }
        }
    }
}
