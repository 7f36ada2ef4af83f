//! Callback APIs used outside a loop panic with a message that names the callback API and
//! says where to call it (not `weft::spawn`'s message); green I/O outside a green thread
//! returns an error that says so and what to use instead.

#[test]
#[should_panic(
    expected = "weft::callback::set_timeout called outside a weft loop: call it inside weft::callback::run or a runtime's block_on"
)]
fn set_timeout_outside_a_loop_names_itself() {
    weft::callback::set_timeout(1, || {});
}

#[test]
#[should_panic(expected = "weft::callback::set_interval called outside a weft loop")]
fn set_interval_outside_a_loop_names_itself() {
    weft::callback::set_interval(1, || {});
}

#[test]
#[should_panic(expected = "weft::callback::fs::read_file called outside a weft loop")]
fn read_file_outside_a_loop_names_itself() {
    weft::callback::fs::read_file("/etc/hostname", |_| {});
}

#[test]
#[should_panic(expected = "weft::callback::net::connect called outside a weft loop")]
fn connect_outside_a_loop_names_itself() {
    weft::callback::net::connect("127.0.0.1:9".parse().unwrap(), |_| {});
}

#[test]
#[should_panic(expected = "weft::callback::net::Server::listen called outside a weft loop")]
fn listen_outside_a_loop_names_itself() {
    let server = weft::callback::net::create_server(|_| {});
    server.listen("127.0.0.1:0".parse().unwrap(), |_| {});
}

#[test]
#[should_panic(expected = "weft::callback::run called inside a weft loop")]
fn run_inside_a_loop_is_refused_with_a_reason() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async { weft::callback::run(|| {}) });
}

#[test]
fn green_io_outside_a_green_thread_says_what_to_use_instead() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // On a plain task, not a green thread.
        let err = weft::green::fs::read("/etc/hostname").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("outside a green thread"), "{msg}");
        assert!(msg.contains("weft::green::spawn"), "{msg}");
        assert!(msg.contains(".await"), "{msg}");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let err = weft::green::TcpStream::connect(listener.local_addr().unwrap()).unwrap_err();
        assert!(err.to_string().contains("outside a green thread"), "{err}");
        // An unwrap shows it too (Debug).
        assert!(format!("{err:?}").contains("weft::green::spawn"), "{err:?}");
    });
}
