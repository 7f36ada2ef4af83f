//! File callbacks receive the result of the pool's work, in order.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use weft::callback::fs::{read_file, read_file_to_string, write_file};

/// Bound on the test, so a lost wake-up fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn write_then_read_through_callbacks() {
    let dir = std::env::temp_dir().join(format!("weft-callback-fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("note.txt");
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let log = Rc::new(RefCell::new(Vec::<String>::new()));
        let (l, p) = (log.clone(), path.clone());
        write_file(&path, "callback data", move |written| {
            written.expect("written");
            l.borrow_mut().push("written".into());
            let (l2, again) = (l.clone(), p.clone());
            read_file(&p, move |contents| {
                l2.borrow_mut()
                    .push(format!("bytes:{}", contents.unwrap().len()));
                let l3 = l2.clone();
                read_file_to_string(&again, move |text| {
                    l3.borrow_mut().push(format!("text:{}", text.unwrap()))
                });
            });
        });
        assert!(
            log.borrow().is_empty(),
            "callbacks never run inside the call"
        );
        let wait = async {
            while log.borrow().len() < 3 {
                weft::time::sleep(Duration::from_millis(1)).await;
            }
        };
        weft::time::timeout(DEADLINE, wait)
            .await
            .expect("callbacks ran in time");
        assert_eq!(*log.borrow(), ["written", "bytes:13", "text:callback data"]);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
