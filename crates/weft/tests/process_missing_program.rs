//! `weft::process`: a program that does not exist is a `NotFound` error naming it.

use weft::process::Command;

const MISSING: &str = "weft-no-such-program-4711";

#[test]
fn missing_program_error_names_it() {
    let err = Command::new(MISSING).spawn().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains(MISSING), "message: {err}");
}

#[test]
fn missing_program_path_in_output_names_it() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    let path = format!("/nonexistent-dir/{MISSING}");
    let err = rt
        .block_on(Command::new(&path).arg("x").output())
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains(&path), "message: {err}");
}
