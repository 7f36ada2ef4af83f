//! File operations from a green thread run on the worker pool and park
//! only the green thread.

use std::cell::Cell;
use std::io::{Read, Seek, SeekFrom, Write};
use std::rc::Rc;
use std::time::Duration;

use weft::green;

/// Bound on the test, so a lost wake-up fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn green_file_round_trip() {
    let dir = std::env::temp_dir().join(format!("weft-green-fs-{}", std::process::id()));
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let parked_turns = Rc::new(Cell::new(0u32));
        let done = Rc::new(Cell::new(false));
        let ticker = {
            let (turns, done) = (parked_turns.clone(), done.clone());
            weft::spawn_local(async move {
                while !done.get() {
                    turns.set(turns.get() + 1);
                    weft::yield_now().await;
                }
            })
        };
        let d = dir.clone();
        let worker = green::spawn(move || -> std::io::Result<Vec<u8>> {
            green::fs::create_dir_all(&d)?;
            let path = d.join("data.bin");
            green::fs::write(&path, b"hello, green")?;
            assert_eq!(green::fs::read_to_string(&path)?, "hello, green");

            let mut f = green::fs::File::create(d.join("file.bin"))?;
            f.write_all(b"0123456789")?;
            f.close()?;
            let mut f = green::fs::File::open(d.join("file.bin"))?;
            f.seek(SeekFrom::Start(4))?;
            let mut rest = Vec::new();
            f.read_to_end(&mut rest)?;

            let missing = green::fs::read(d.join("missing")).unwrap_err();
            assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
            assert!(missing.to_string().contains("missing"), "{missing}");
            green::fs::remove_dir_all(&d)?;
            Ok(rest)
        });
        let rest = weft::time::timeout(DEADLINE, worker)
            .await
            .expect("in time")
            .expect("green thread")
            .expect("file operations");
        done.set(true);
        ticker.await.unwrap();
        assert_eq!(rest, b"456789");
        assert!(
            parked_turns.get() > 0,
            "the loop ran other work during file I/O"
        );
    });
    assert!(!dir.exists());
}
