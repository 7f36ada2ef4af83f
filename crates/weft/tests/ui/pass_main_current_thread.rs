#[weft::main(current_thread)]
async fn main() {
    assert_eq!(weft::rt::Handle::current().loops(), 0);
    weft::time::sleep(std::time::Duration::from_millis(1)).await;
}
