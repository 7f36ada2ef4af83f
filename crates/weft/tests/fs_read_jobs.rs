//! Reading a `File` in small pieces costs few pool jobs: reads are sized from what the caller
//! asks for now, never below a floor, and read ahead while the caller works.

use futures_util::io::AsyncReadExt;
use weft::pool::Lane;
use weft::rt::{Handle, Runtime};

const FILE_LEN: usize = 2 * 1024 * 1024 + 1000;

/// A way of reading a whole file.
type ReadAll = fn(weft::fs::File) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u8>>>>;

fn fs_jobs_completed() -> u64 {
    Handle::current().metrics().pool.lane(Lane::Fs).completed
}

/// Reads the file with `read`, and returns (bytes read, fs-lane jobs it took).
fn read_with(path: &std::path::Path, read: ReadAll) -> (Vec<u8>, u64) {
    let rt = Runtime::builder().current_thread().build().unwrap();
    rt.block_on(async {
        let file = weft::fs::File::open(path).await.unwrap();
        let before = fs_jobs_completed();
        let data = read(file).await;
        (data, fs_jobs_completed() - before)
    })
}

#[test]
fn read_to_end_and_tiny_reads_take_few_jobs() {
    let dir = std::env::temp_dir().join(format!("weft-fs-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.bin");
    let expected: Vec<u8> = (0..FILE_LEN).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, &expected).unwrap();

    // `read_to_end` starts with a 32-byte buffer and doubles it.
    let (data, jobs) = read_with(&path, |mut f| {
        Box::pin(async move {
            let mut all = Vec::new();
            f.read_to_end(&mut all).await.unwrap();
            all
        })
    });
    assert!(data == expected, "read_to_end returned different bytes");
    // A few dozen jobs at most (64 KiB reads growing to 2 MiB), not one per 32 bytes.
    assert!(
        jobs <= 64,
        "read_to_end of {FILE_LEN} bytes took {jobs} pool jobs"
    );

    // 16 bytes at a time: the buffer serves them, a job per 64 KiB at most.
    let (data, jobs) = read_with(&path, |mut f| {
        Box::pin(async move {
            let mut all = Vec::new();
            let mut piece = [0u8; 16];
            loop {
                let n = f.read(&mut piece).await.unwrap();
                if n == 0 {
                    break all;
                }
                all.extend_from_slice(&piece[..n]);
            }
        })
    });
    assert!(data == expected, "16-byte reads returned different bytes");
    let bound = (FILE_LEN / (64 * 1024) + 4) as u64;
    assert!(
        jobs <= bound,
        "16-byte reads of {FILE_LEN} bytes took {jobs} pool jobs (bound {bound})"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
