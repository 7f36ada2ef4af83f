//! `weft::fs` errors keep std's `ErrorKind` and name the path: missing
//! files, directories where files are expected, paths under a regular file,
//! permissions, invalid UTF-8, copying a file onto itself.

mod pool_support;

use pool_support::{block_on as run, TempDir};

use std::io::{self, ErrorKind};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use weft::fs::{self, File, OpenOptions, PathError};

/// Asserts `err` is what std said (`expected`'s kind) and names `path`.
#[track_caller]
fn assert_same_error_with_path(err: &io::Error, expected: &io::Error, path: &Path) {
    assert_eq!(err.kind(), expected.kind(), "{err} (std: {expected})");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "no path in: {msg}"
    );
    let detail = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<PathError>())
        .expect("payload is a PathError");
    assert_eq!(detail.path(), path);
    assert_eq!(
        detail.io_error().raw_os_error(),
        expected.raw_os_error(),
        "{msg}"
    );
}

#[test]
fn missing_file() {
    let dir = TempDir::new("fs-err-missing");
    let missing = dir.0.join("nope.txt");
    let std_err = std::fs::File::open(&missing).unwrap_err();
    assert_eq!(std_err.kind(), ErrorKind::NotFound);
    run(async {
        let errs = [
            fs::read(&missing).await.unwrap_err(),
            fs::read_to_string(&missing).await.unwrap_err(),
            File::open(&missing).await.map(drop).unwrap_err(),
            fs::metadata(&missing).await.map(drop).unwrap_err(),
            fs::remove_file(&missing).await.unwrap_err(),
            fs::read_dir(&missing).await.map(drop).unwrap_err(),
            fs::copy(&missing, dir.0.join("x"))
                .await
                .map(drop)
                .unwrap_err(),
            fs::rename(&missing, dir.0.join("y")).await.unwrap_err(),
        ];
        for err in &errs {
            assert_same_error_with_path(err, &std_err, &missing);
        }
        let msg = errs[5].to_string();
        assert!(msg.starts_with("could not read directory `"), "{msg}");
        let msg = errs[7].to_string();
        assert!(
            msg.contains(&dir.0.join("y").display().to_string()),
            "{msg}"
        );
    });
}

#[test]
fn directory_where_a_file_is_expected() {
    let dir = TempDir::new("fs-err-dir");
    // Fails for root too: no permission bit lets anyone write a directory.
    let std_err = std::fs::OpenOptions::new()
        .write(true)
        .open(&dir.0)
        .unwrap_err();
    run(async {
        let err = OpenOptions::new()
            .write(true)
            .open(&dir.0)
            .await
            .unwrap_err();
        assert_same_error_with_path(&err, &std_err, &dir.0);
        let err = fs::write(&dir.0, b"x").await.unwrap_err();
        assert_same_error_with_path(&err, &std_err, &dir.0);
        let err = fs::remove_file(&dir.0).await.unwrap_err();
        assert_same_error_with_path(&err, &std::fs::remove_file(&dir.0).unwrap_err(), &dir.0);
    });
}

#[test]
fn path_under_a_regular_file() {
    let dir = TempDir::new("fs-err-notdir");
    let file = dir.0.join("plain");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("child");
    // Fails for root too: a regular file has no entries.
    let std_err = std::fs::write(&under, b"y").unwrap_err();
    run(async {
        let err = fs::write(&under, b"y").await.unwrap_err();
        assert_same_error_with_path(&err, &std_err, &under);
        let err = fs::create_dir_all(&under).await.unwrap_err();
        assert_same_error_with_path(&err, &std::fs::create_dir_all(&under).unwrap_err(), &under);
        let err = fs::read_dir(&file).await.map(drop).unwrap_err();
        assert_same_error_with_path(&err, &std::fs::read_dir(&file).unwrap_err(), &file);
    });
}

#[test]
fn permission_bits() {
    let dir = TempDir::new("fs-err-perm");
    let locked = dir.0.join("locked");
    std::fs::write(&locked, b"secret").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root (as these tests usually run) bypasses permission bits; whatever
    // std does, weft::fs must do the same, and name the path if it fails.
    let std_result = std::fs::read(&locked);
    run(async {
        match (fs::read(&locked).await, std_result) {
            (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs),
            (Err(err), Err(std_err)) => {
                assert_eq!(std_err.kind(), ErrorKind::PermissionDenied);
                assert_same_error_with_path(&err, &std_err, &locked);
            }
            (ours, theirs) => panic!("weft: {ours:?}, std: {theirs:?}"),
        }
    });
}

#[test]
fn invalid_utf8_and_self_copy() {
    let dir = TempDir::new("fs-err-data");
    let bin = dir.0.join("bin");
    std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
    run(async {
        let err = fs::read_to_string(&bin).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert!(
            err.to_string().contains(&bin.display().to_string()),
            "{err}"
        );

        let err = fs::copy(&bin, &bin).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("same file"), "{err}");
        assert_eq!(
            std::fs::read(&bin).unwrap(),
            [0xff, 0xfe, 0x00],
            "self-copy destroyed data"
        );
    });
}
