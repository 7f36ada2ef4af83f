//! File round trips through `weft::fs`: whole-file helpers, `File` with
//! read/write/seek, directories, rename, copy.

mod pool_support;

use pool_support::{block_on as run, TempDir};

use std::io::SeekFrom;
use std::os::unix::fs::PermissionsExt;

use futures_util::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use weft::fs::{self, File, OpenOptions, IO_CHUNK, READ_DIR_BATCH};

/// Bytes that differ at every offset within a chunk, so a misplaced chunk
/// shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251) as u8)
        .collect()
}

#[test]
fn whole_file_helpers_round_trip_small_and_chunked() {
    let dir = TempDir::new("fs-whole");
    run(async {
        let small = dir.0.join("small.txt");
        fs::write(&small, "hello weft").await.unwrap();
        assert_eq!(fs::read_to_string(&small).await.unwrap(), "hello weft");
        assert_eq!(fs::metadata(&small).await.unwrap().len(), 10);

        // A file that reports size 0 but has content (read past the size).
        let proc_file = "/proc/self/cmdline";
        assert_eq!(
            fs::read(proc_file).await.unwrap(),
            std::fs::read(proc_file).unwrap()
        );

        let empty = dir.0.join("empty");
        fs::write(&empty, b"").await.unwrap();
        assert!(fs::read(&empty).await.unwrap().is_empty());

        // Several chunks and a ragged tail; also exactly one chunk.
        for len in [2 * IO_CHUNK + 12345, IO_CHUNK] {
            let big = dir.0.join(format!("big-{len}"));
            let data = pattern(len);
            fs::write(&big, &data).await.unwrap();
            assert_eq!(std::fs::read(&big).unwrap(), data, "fs::write of {len}");
            assert_eq!(fs::read(&big).await.unwrap(), data, "fs::read of {len}");
        }
    });
}

#[test]
fn file_write_seek_read() {
    let dir = TempDir::new("fs-file");
    let path = dir.0.join("f.bin");
    run(async {
        let data = pattern(IO_CHUNK + 1000);
        let mut f = File::create(&path).await.unwrap();
        f.write_all(&data).await.unwrap();
        f.flush().await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), data.len() as u64);
        f.close().await.unwrap();
        drop(f);

        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, data);

        // Relative seeks are from the caller's position.
        assert_eq!(f.seek(SeekFrom::Start(10)).await.unwrap(), 10);
        let mut four = [0u8; 4];
        f.read_exact(&mut four).await.unwrap();
        assert_eq!(four, data[10..14]);
        assert_eq!(f.seek(SeekFrom::Current(-2)).await.unwrap(), 12);
        f.read_exact(&mut four).await.unwrap();
        assert_eq!(four, data[12..16]);

        // Overwrite in the middle, then read it back.
        f.seek(SeekFrom::Start(100)).await.unwrap();
        f.write_all(b"WEFT").await.unwrap();
        f.seek(SeekFrom::Start(98)).await.unwrap();
        let mut eight = [0u8; 8];
        f.read_exact(&mut eight).await.unwrap();
        assert_eq!(&eight[..2], &data[98..100]);
        assert_eq!(&eight[2..6], b"WEFT");
        assert_eq!(&eight[6..], &data[104..106]);

        // A read that gets all it asked for starts a read-ahead; a write
        // right after it still lands at the caller's position.
        f.seek(SeekFrom::Start(200)).await.unwrap();
        f.read_exact(&mut four).await.unwrap();
        assert_eq!(four, data[200..204]);
        f.write_all(b"XY").await.unwrap();
        f.flush().await.unwrap();
        f.read_exact(&mut four).await.unwrap();
        assert_eq!(four, data[206..210]);
        assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 210);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(
            &on_disk[200..210],
            [&data[200..204], b"XY", &data[206..210]].concat()
        );

        f.set_len(50).await.unwrap();
        f.sync_all().await.unwrap();
        assert_eq!(f.seek(SeekFrom::End(0)).await.unwrap(), 50);
        let std = f.into_std().await.unwrap();
        assert_eq!(std.metadata().unwrap().len(), 50);
    });
}

#[test]
fn append_and_create_new() {
    let dir = TempDir::new("fs-append");
    let path = dir.0.join("log");
    run(async {
        let mut f = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .await
            .unwrap();
        f.write_all(b"one\n").await.unwrap();
        f.close().await.unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).await.unwrap();
        f.write_all(b"two\n").await.unwrap();
        f.close().await.unwrap();
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "one\ntwo\n");
        let err = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    });
}

#[test]
fn dropping_a_file_still_completes_accepted_writes() {
    let dir = TempDir::new("fs-drop");
    let path = dir.0.join("f");
    run(async {
        let mut f = File::create(&path).await.unwrap();
        f.write_all(b"accepted").await.unwrap();
        drop(f);
    });
    // The write was accepted (write-behind), so it lands although the file
    // was dropped without a flush: at the latest when the runtime (dropped by
    // `run`) shuts its pool down, which runs detached jobs.
    assert_eq!(std::fs::read(&path).unwrap(), b"accepted");
}

#[test]
fn directories_rename_copy_remove() {
    let dir = TempDir::new("fs-dirs");
    run(async {
        let nested = dir.0.join("a/b/c");
        fs::create_dir_all(&nested).await.unwrap();
        assert!(fs::metadata(&nested).await.unwrap().is_dir());
        fs::create_dir_all(&nested).await.unwrap(); // idempotent

        // More entries than one batch, so listing takes several jobs.
        let count = READ_DIR_BATCH * 2 + 5;
        for i in 0..count {
            fs::write(nested.join(format!("f{i:03}")), i.to_string())
                .await
                .unwrap();
        }
        fs::create_dir(nested.join("sub")).await.unwrap();
        let mut listing = fs::read_dir(&nested).await.unwrap();
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        while let Some(entry) = listing.next_entry().await.unwrap() {
            let name = entry.file_name().into_string().unwrap();
            assert_eq!(entry.path(), nested.join(&name));
            if entry.file_type().await.unwrap().is_dir() {
                dirs.push(name);
            } else {
                assert!(entry.metadata().await.unwrap().is_file());
                files.push(name);
            }
        }
        assert!(
            listing.next_entry().await.unwrap().is_none(),
            "exhausted stays exhausted"
        );
        files.sort();
        let expected: Vec<_> = (0..count).map(|i| format!("f{i:03}")).collect();
        assert_eq!(files, expected);
        assert_eq!(dirs, ["sub"]);

        let src = nested.join("f007");
        let moved = dir.0.join("moved");
        fs::rename(&src, &moved).await.unwrap();
        assert!(!fs::try_exists(&src).await.unwrap());
        assert_eq!(fs::read_to_string(&moved).await.unwrap(), "7");

        // copy: contents (several chunks) and permission bits.
        let big = dir.0.join("big");
        let data = pattern(IO_CHUNK * 2 + 7);
        fs::write(&big, &data).await.unwrap();
        fs::set_permissions(&big, std::fs::Permissions::from_mode(0o640))
            .await
            .unwrap();
        let copy = dir.0.join("copy");
        assert_eq!(fs::copy(&big, &copy).await.unwrap(), data.len() as u64);
        assert_eq!(fs::read(&copy).await.unwrap(), data);
        let mode = fs::metadata(&copy).await.unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);

        fs::remove_file(&moved).await.unwrap();
        assert!(!fs::try_exists(&moved).await.unwrap());
        fs::remove_dir(nested.join("sub")).await.unwrap();
        fs::remove_dir_all(dir.0.join("a")).await.unwrap();
        assert!(!fs::try_exists(dir.0.join("a")).await.unwrap());
        let canon = fs::canonicalize(dir.0.join(".").join("copy"))
            .await
            .unwrap();
        assert_eq!(canon, std::fs::canonicalize(&copy).unwrap());
    });
}
